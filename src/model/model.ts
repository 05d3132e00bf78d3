import type { Signature } from './signature.js';

/** TensorFlow.js backends streamserve can run on. `tensorflow` needs @tensorflow/tfjs-node installed. */
export const BackendNames = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BackendNames)[number];

/**
 * A loaded, warmed-up model. The pipeline only ever sees this interface, so tests can hand in a stub.
 *
 * `predict` takes `count` rows of `inputWidth` features, row-major, and resolves to `count` rows of
 * `outputWidth` raw model outputs, row-major (still in the model's scaled space; the signature maps them
 * to prediction fields). It rejects when the model cannot score the batch; the caller decides whether to
 * split the batch. Calls never overlap: the pipeline awaits one before starting the next.
 */
export interface Model {
  readonly signature: Signature;
  readonly backend: BackendName;
  readonly inputWidth: number;
  readonly outputWidth: number;
  predict(rows: Float32Array, count: number): Promise<Float32Array>;
  /** Releases tensors and backend memory. Idempotent. */
  close(): Promise<void>;
}
