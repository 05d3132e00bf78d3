import type { Logger } from 'pino';
import type { Signature } from './signature.js';
import { ErrorCodes, StreamserveError } from '../errors.js';

/**
 * A loaded, warmed-up model that scores Float32 rows, whatever library runs it. The scorer only ever sees this
 * interface, so tests can hand in a stub and a new model format is one new runtime (see runtimes.ts).
 *
 * `predict` takes `count` rows of `inputWidth` features, row-major, and resolves to `count` rows of
 * `outputWidth` raw model outputs, row-major (still in the model's scaled space; the signature maps them
 * to prediction fields). It rejects when the model cannot score the batch; the caller decides whether to
 * split the batch. Calls never overlap: the scorer awaits one before starting the next.
 */
export interface ModelRuntime {
  /** The model's name and version, and how its columns map to record fields (signature.json). */
  readonly signature: Signature;
  /**
   * What scores the rows, e.g. `tfjs-wasm`. Shown on /status, in `streamserve_model_info` and in the lineage header
   * of every prediction, so an operator can tell which runtime produced a value.
   */
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  predict(rows: Float32Array, count: number): Promise<Float32Array>;
  /**
   * Abandons whatever the runtime is doing and loads it afresh (a worker thread is replaced): calls in flight reject.
   * Rejects when the runtime cannot be loaded again (the next call tries again). Absent when the runtime cannot be
   * abandoned: a model on the main thread holds the thread until its call returns.
   */
  restart?(): Promise<void>;
  /** Releases the model's memory. Idempotent. */
  close(): Promise<void>;
}

/**
 * What every runtime's loader takes. Everything but `logger` is a plain string or number, so the same options cross
 * into the model worker (src/model/workerModel.ts), which makes its own logger.
 */
export interface RuntimeLoadOptions {
  /** The model directory: the runtime's artefacts and `signature.json`. */
  dir: string;
  /** Batch sizes run once before the model is handed out, so the first real batch pays no compile/alloc cost. */
  warmupBatchSizes?: readonly number[];
  logger?: Logger;
  /**
   * The device backend, for runtimes that have several (TensorFlow.js: `wasm`, `cpu`, `tensorflow`; the BACKEND
   * setting): such a runtime validates it and has its own default when absent. Runtimes with one device ignore it.
   */
  device?: string;
}

/** Loads and warms up a model; rejects with MODEL_LOAD_FAILED, SIGNATURE_INVALID, BACKEND_UNAVAILABLE or CONFIG_INVALID. */
export type RuntimeLoader = (options: RuntimeLoadOptions) => Promise<ModelRuntime>;

/** A model directory that cannot be loaded (MODEL_LOAD_FAILED), naming it. */
export function loadFailed(dir: string, message: string, cause?: unknown): StreamserveError {
  return new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `cannot load model ${dir}: ${message}`, { cause });
}

/**
 * The checks every runtime's `predict` starts with (INFERENCE_FAILED): the model is not closed, and `rows` holds
 * `count` whole rows of `inputWidth` values.
 */
export function checkPredict(closed: boolean, rows: Float32Array, count: number, inputWidth: number): void {
  if (closed) throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'model is closed');
  if (!Number.isInteger(count) || count < 0 || rows.length !== count * inputWidth) {
    throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, `predict needs ${count} × ${inputWidth} = ${count * inputWidth} values, got ${rows.length}`);
  }
}
