/**
 * The model's own thread, or its own process (processModel.ts). Loads the model with the runtime its directory calls
 * for and answers predict requests one at a time, so a long model call never blocks the main thread's Kafka
 * heartbeats, fetches and writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadRuntime } from './runtimes.js';
import type { ModelRuntime } from './model.js';
import { isStreamserveError, messageOf } from '../errors.js';
import type { WorkerInput, WorkerReply, WorkerRequest } from './workerProtocol.js';
import { HOST_INPUT_ENV } from './hostInput.js';
import { redaction } from '../logger.js';

interface Port {
  /** Resolves once the reply has left (a process must not exit before). */
  post(reply: WorkerReply, transfer: ArrayBuffer[]): Promise<void>;
  onMessage(handler: (request: WorkerRequest) => void): void;
  close(): void;
}

/** A worker thread's parent port, or a child process's IPC channel (whose parent going away ends the process). */
const port: Port = parentPort
  ? {
      post: async (reply, transfer) => parentPort!.postMessage(reply, transfer),
      onMessage: (h) => parentPort!.on('message', h),
      close: () => parentPort!.close(),
    }
  : {
      post: (reply) => new Promise((resolve) => process.send!(reply, undefined, undefined, () => resolve())),
      onMessage: (h) => process.on('message', h as (message: unknown) => void),
      close: () => process.disconnect(),
    };
if (!parentPort) process.once('disconnect', () => process.exit(0));
const input = (parentPort ? workerData : JSON.parse(process.env[HOST_INPUT_ENV] ?? '{}')) as WorkerInput;
const { logLevel, ...options } = input;
const logger = pino({ level: logLevel, base: { component: 'model-worker' }, ...redaction }, pino.destination({ dest: 2, sync: true }));
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.post(reply, transfer);

let model: ModelRuntime;
try {
  model = await loadRuntime({ ...options, logger });
  void post({ type: 'ready', signature: model.signature, runtime: model.runtime, inputWidth: model.inputWidth, outputWidth: model.outputWidth });
} catch (err) {
  await post({ type: 'load-failed', code: isStreamserveError(err) ? err.code : 'MODEL_LOAD_FAILED', message: messageOf(err) });
  process.exit(1);
}

port.onMessage((request: WorkerRequest) => {
  if (request.type === 'close') {
    void model.close().finally(() => port.close());
    return;
  }
  model.predict(request.rows, request.count).then(
    (output) => post({ type: 'result', id: request.id, output }, [output.buffer as ArrayBuffer]),
    (err: unknown) =>
      post({
        type: 'failure',
        id: request.id,
        code: isStreamserveError(err) ? err.code : 'INFERENCE_FAILED',
        message: messageOf(err),
        retryable: isStreamserveError(err) && err.retryable,
      }),
  );
});
