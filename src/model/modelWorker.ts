/**
 * The model's own thread. Loads the model with the runtime its directory calls for and answers predict requests one
 * at a time, so a long model call never blocks the main thread's Kafka heartbeats, fetches and writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadRuntime } from './runtimes.js';
import type { ModelRuntime } from './model.js';
import { isStreamserveError, messageOf } from '../errors.js';
import type { WorkerInput, WorkerReply, WorkerRequest } from './workerProtocol.js';

const port = parentPort!;
const { logLevel, ...options } = workerData as WorkerInput;
const logger = pino({ level: logLevel, base: { component: 'model-worker' } }, pino.destination({ dest: 2, sync: true }));
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

let model: ModelRuntime;
try {
  model = await loadRuntime({ ...options, logger });
  post({ type: 'ready', signature: model.signature, runtime: model.runtime, inputWidth: model.inputWidth, outputWidth: model.outputWidth });
} catch (err) {
  post({ type: 'load-failed', code: isStreamserveError(err) ? err.code : 'MODEL_LOAD_FAILED', message: messageOf(err) });
  process.exit(1);
}

port.on('message', (request: WorkerRequest) => {
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
