import type { ErrorCode, Stage } from '../errors.js';

/**
 * What the pipeline reports as it works. The admin server's metrics implement it; tests may count with it.
 * Calls are synchronous and cheap; implementations must not throw.
 */
export interface PipelineObserver {
  recordsIn(topic: string, partition: number, count: number): void;
  prediction(count: number): void;
  deadLetter(stage: Stage, code: ErrorCode): void;
  /** One model call: rows scored and wall time in seconds. */
  batch(rows: number, inferSeconds: number): void;
  /** Output acknowledged: end-to-end latency (ack time − input timestamp), seconds. */
  latency(seconds: number): void;
  inflight(records: number): void;
  sinkError(retryable: boolean): void;
}

export const noopObserver: PipelineObserver = {
  recordsIn() {},
  prediction() {},
  deadLetter() {},
  batch() {},
  latency() {},
  inflight() {},
  sinkError() {},
};
