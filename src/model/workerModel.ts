import { Worker } from 'node:worker_threads';
import type { ModelRuntime, RuntimeLoadOptions } from './model.js';
import type { Signature } from './signature.js';
import type { WorkerInput, WorkerReply, WorkerRequest } from './workerProtocol.js';
import { ErrorCodes, StreamserveError, type ErrorCode } from '../errors.js';

/** `logger` stays on this thread (worker failures and restarts); the worker logs at `logLevel` to stderr. */
export type WorkerModelOptions = RuntimeLoadOptions & { logLevel?: string };

const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './modelWorker.boot.mjs' : './modelWorker.js', import.meta.url);

interface Pending {
  resolve: (output: Float32Array) => void;
  reject: (err: Error) => void;
}

/**
 * A ModelRuntime that runs in a worker thread: the worker loads and warms up the runtime (runtimes.ts) and reports it
 * as its own (`runtime` is the worker's, e.g. `tfjs-wasm`); `predict` posts a copy of the rows and resolves with the
 * worker's output. If the worker dies, calls in flight reject as retryable and the next call starts a new worker.
 */
export async function loadWorkerModel(options: WorkerModelOptions): Promise<ModelRuntime> {
  const started = await startWorker(options);
  return new WorkerModel(options, started);
}

interface Started {
  worker: Worker;
  ready: Extract<WorkerReply, { type: 'ready' }>;
}

function startWorker(options: WorkerModelOptions): Promise<Started> {
  return new Promise((resolve, reject) => {
    // Named one by one: `logger` cannot be cloned into the worker.
    const workerData: WorkerInput = {
      dir: options.dir,
      ...(options.warmupBatchSizes ? { warmupBatchSizes: options.warmupBatchSizes } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
      logLevel: options.logLevel ?? 'info',
    };
    const worker = new Worker(WORKER_URL, { workerData });
    const onMessage = (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        cleanup();
        resolve({ worker, ready: reply });
      } else if (reply.type === 'load-failed') {
        cleanup();
        reject(new StreamserveError(reply.code as ErrorCode, reply.message));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `model worker failed: ${err.message}`, { cause: err }));
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `model worker exited with code ${code} while loading ${options.dir}`));
    };
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

class WorkerModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly #options: WorkerModelOptions;
  #worker: Promise<Worker>;
  /** Workers terminated on purpose (restart): their exit is not a crash. */
  readonly #replaced = new WeakSet<Worker>();
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #closing: Promise<void> | null = null;

  constructor(options: WorkerModelOptions, started: Started) {
    this.#options = options;
    this.signature = started.ready.signature;
    this.runtime = started.ready.runtime;
    this.inputWidth = started.ready.inputWidth;
    this.outputWidth = started.ready.outputWidth;
    this.#worker = Promise.resolve(this.#attach(started.worker));
  }

  #attach(worker: Worker): Worker {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'failure') return;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.type === 'result') pending.resolve(reply.output);
      else pending.reject(new StreamserveError(reply.code as ErrorCode, reply.message, { retryable: reply.retryable }));
    });
    worker.on('error', (err) => this.#options.logger?.error({ err }, 'model worker error'));
    worker.once('exit', (code) => {
      if (this.#closing || this.#replaced.has(worker)) return;
      this.#options.logger?.error({ code }, 'model worker exited; starting a new one');
      this.#failPending(`model worker exited (code ${code})`);
      this.#worker = this.#start();
    });
    return worker;
  }

  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    if (this.#closing) throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'model is closed');
    if (rows.length !== count * this.inputWidth) {
      throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, `expected ${count * this.inputWidth} values for ${count} rows, got ${rows.length}`);
    }
    // A worker that failed to start (the model could not be loaded) is started again by the next call.
    const worker = await this.#worker.catch(() => (this.#worker = this.#start()));
    const id = this.#nextId++;
    const copy = rows.slice();
    return new Promise<Float32Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: WorkerRequest = { type: 'predict', id, rows: copy, count };
      worker.postMessage(request, [copy.buffer as ArrayBuffer]);
    });
  }

  /** Replaces the worker: the running call is abandoned (it rejects as retryable) and a new worker loads the model. */
  async restart(): Promise<void> {
    if (this.#closing) return;
    const old = await this.#worker.catch(() => null);
    this.#worker = this.#start();
    if (old) {
      this.#replaced.add(old);
      await old.terminate();
    }
    this.#failPending('model worker replaced (a call did not return in time, or the model failed)');
    await this.#worker;
    this.#options.logger?.info('model worker replaced');
  }

  /** Starts a worker; a failed start is logged, and the next restart() or crash starts another. */
  #start(): Promise<Worker> {
    const starting = startWorker(this.#options).then((s) => this.#attach(s.worker));
    starting.catch((err: unknown) => this.#options.logger?.error({ err }, 'starting the model worker failed'));
    return starting;
  }

  #failPending(reason: string): void {
    const failed = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of failed) p.reject(new StreamserveError(ErrorCodes.INFERENCE_FAILED, reason, { retryable: true }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const worker = await this.#worker.catch(() => null);
      if (!worker) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ type: 'close' } satisfies WorkerRequest);
      const timer = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
      for (const p of this.#pending.values()) p.reject(new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'model closed'));
      this.#pending.clear();
    })();
    return this.#closing;
  }
}
