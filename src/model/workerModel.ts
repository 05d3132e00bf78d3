import { Worker } from 'node:worker_threads';
import type { ModelRuntime } from './model.js';
import { loadHostedModel, type HostedModelOptions, type ModelChannel } from './modelHost.js';
import type { WorkerInput } from './workerProtocol.js';

/** `logger` stays on this thread (worker failures and restarts); the worker logs at `logLevel` to stderr. */
export type WorkerModelOptions = HostedModelOptions;

/** The model host's script: the TypeScript source through its tsx boot file, or the build's JavaScript. */
export const HOST_SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './modelWorker.boot.mjs' : './modelWorker.js', import.meta.url);

function workerChannel(input: WorkerInput): ModelChannel {
  const worker = new Worker(HOST_SCRIPT, { workerData: input });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    events: worker,
    post: (request, transfer = []) => worker.postMessage(request, transfer),
    kill: async () => {
      await worker.terminate();
      await exited;
    },
    exited,
  };
}

/**
 * A ModelRuntime that runs in a worker thread (modelHost.ts): a hung call is abandoned by terminating the worker,
 * which ends JavaScript and WebAssembly (TensorFlow.js, the NumPy runtime, onnxruntime-web) but not a native call:
 * runtimes with native calls are hosted in a child process (processModel.ts, chosen by runtimes.ts).
 */
export function loadWorkerModel(options: WorkerModelOptions): Promise<ModelRuntime> {
  return loadHostedModel(options, workerChannel, 'worker');
}
