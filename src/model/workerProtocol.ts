import type { ErrorCode } from '../errors.js';
import type { BackendName } from './model.js';
import type { Signature } from './signature.js';

/** Messages between the main thread and the model worker (structured clone; Float32Arrays are transferred). */
export type WorkerRequest = { type: 'predict'; id: number; rows: Float32Array; count: number } | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; signature: Signature; backend: BackendName; inputWidth: number; outputWidth: number }
  | { type: 'load-failed'; code: ErrorCode | string; message: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'failure'; id: number; code: ErrorCode | string; message: string; retryable: boolean };
