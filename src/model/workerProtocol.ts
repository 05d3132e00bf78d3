import type { ErrorCode } from '../errors.js';
import type { RuntimeLoadOptions } from './model.js';
import type { Signature } from './signature.js';

/** What the worker is started with (`workerData`): the load options that can be cloned, and its log level. */
export type WorkerInput = Omit<RuntimeLoadOptions, 'logger'> & { logLevel: string };

/**
 * Messages between the main thread and the model host, a worker thread (structured clone; Float32Arrays are
 * transferred) or a child process (the IPC channel's `advanced` serialization, also a structured clone). They say
 * nothing about which runtime the host loaded: `ready` describes it as ModelRuntime does.
 */
export type WorkerRequest = { type: 'predict'; id: number; rows: Float32Array; count: number } | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; signature: Signature; runtime: string; inputWidth: number; outputWidth: number }
  | { type: 'load-failed'; code: ErrorCode | string; message: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'failure'; id: number; code: ErrorCode | string; message: string; retryable: boolean };
