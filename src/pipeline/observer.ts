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
  /** Backpressure: the source was asked to pause (true) or resume (false) fetching. */
  backpressure(paused: boolean): void;
}

export const noopObserver: PipelineObserver = {
  recordsIn() {},
  prediction() {},
  deadLetter() {},
  batch() {},
  latency() {},
  inflight() {},
  sinkError() {},
  backpressure() {},
};

/** One observer that forwards every call to each of `observers`. */
export function fanOut(...observers: PipelineObserver[]): PipelineObserver {
  return {
    recordsIn: (t, p, n) => observers.forEach((o) => o.recordsIn(t, p, n)),
    prediction: (n) => observers.forEach((o) => o.prediction(n)),
    deadLetter: (s, c) => observers.forEach((o) => o.deadLetter(s, c)),
    batch: (r, s) => observers.forEach((o) => o.batch(r, s)),
    latency: (s) => observers.forEach((o) => o.latency(s)),
    inflight: (n) => observers.forEach((o) => o.inflight(n)),
    sinkError: (r) => observers.forEach((o) => o.sinkError(r)),
    backpressure: (p) => observers.forEach((o) => o.backpressure(p)),
  };
}
