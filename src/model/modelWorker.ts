/**
 * The model's own thread. Loads the model with the TensorFlow.js loader and answers predict requests one at a time,
 * so a long model call never blocks the main thread's Kafka heartbeats, fetches and writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadModel } from './tfjsModel.js';
import type { BackendName, Model } from './model.js';
import { isStreamserveError, messageOf } from '../errors.js';
import type { WorkerReply, WorkerRequest } from './workerProtocol.js';

interface WorkerInput {
  dir: string;
  backend: BackendName;
  warmupBatchSizes: number[];
  logLevel: string;
}

const port = parentPort!;
const input = workerData as WorkerInput;
const logger = pino({ level: input.logLevel, base: { component: 'model-worker' } }, pino.destination({ dest: 2, sync: true }));
const post = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

let model: Model;
try {
  model = await loadModel({ dir: input.dir, backend: input.backend, logger, warmupBatchSizes: input.warmupBatchSizes });
  post({ type: 'ready', signature: model.signature, backend: model.backend, inputWidth: model.inputWidth, outputWidth: model.outputWidth });
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
