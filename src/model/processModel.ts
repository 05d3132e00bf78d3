import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HOST_INPUT_ENV } from './hostInput.js';
import type { ModelRuntime } from './model.js';
import { loadHostedModel, type HostedModelOptions, type ModelChannel } from './modelHost.js';
import { HOST_SCRIPT } from './workerModel.js';
import type { WorkerInput } from './workerProtocol.js';


function processChannel(input: WorkerInput): ModelChannel {
  const child = fork(fileURLToPath(HOST_SCRIPT), [], {
    // structured clone over IPC: Float32Arrays arrive as Float32Arrays
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [HOST_INPUT_ENV]: JSON.stringify(input) },
    // not the parent's flags (an inspector port, a loader): the script brings what it needs
    execArgv: [],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    events: child,
    post: (request) => {
      if (child.connected) child.send(request);
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}

/**
 * A ModelRuntime in a child process (modelHost.ts): what a worker thread cannot contain, a native call that does not
 * return (onnxruntime-node runs a session synchronously on its thread; a terminated worker stays in the call and the
 * process cannot exit), is ended with SIGKILL at the inference timeout and a new process loads the model. Rows and
 * outputs cross the IPC channel as structured clones.
 */
export function loadProcessModel(options: HostedModelOptions): Promise<ModelRuntime> {
  return loadHostedModel(options, processChannel, 'process');
}
