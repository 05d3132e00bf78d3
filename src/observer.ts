import type { ErrorCode, Stage } from './errors.js';

/** Where a row came from: a Kafka input (a backlog, maybe) or an interactive HTTP caller. */
export const RowSources = ['kafka', 'http'] as const;
export type RowSource = (typeof RowSources)[number];

/**
 * What the parts of the flow report as they work: inputs (records in, outcomes, latency, in-flight, backpressure),
 * the scorer (model calls) and outputs (write errors). The admin server's metrics and stats implement it; tests may
 * count with it. Calls are synchronous and cheap; implementations must not throw.
 */
export interface Observer {
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
  /** The model stopped scoring rows it is known to score (false), or scores again (true). */
  modelHealth(healthy: boolean): void;
  /** The rows of one model call by source (bisection's smaller calls not counted again). */
  callRows(rows: Readonly<Record<RowSource, number>>): void;
  /**
   * An HTTP row went into a model call: how many model calls ended while it waited (urgent, it should wait only for
   * the one running when it came), and its wait in seconds.
   */
  httpRowWait(callsWaited: number, seconds: number): void;
}

export const noopObserver: Observer = {
  recordsIn() {},
  prediction() {},
  deadLetter() {},
  batch() {},
  latency() {},
  inflight() {},
  sinkError() {},
  backpressure() {},
  modelHealth() {},
  callRows() {},
  httpRowWait() {},
};

/** One observer that forwards every call to each of `observers` (plain loops: some calls come once per record). */
export function fanOut(...observers: Observer[]): Observer {
  return {
    recordsIn: (t, p, n) => { for (const o of observers) o.recordsIn(t, p, n); },
    prediction: (n) => { for (const o of observers) o.prediction(n); },
    deadLetter: (s, c) => { for (const o of observers) o.deadLetter(s, c); },
    batch: (r, s) => { for (const o of observers) o.batch(r, s); },
    latency: (s) => { for (const o of observers) o.latency(s); },
    inflight: (n) => { for (const o of observers) o.inflight(n); },
    sinkError: (r) => { for (const o of observers) o.sinkError(r); },
    backpressure: (p) => { for (const o of observers) o.backpressure(p); },
    modelHealth: (h) => { for (const o of observers) o.modelHealth(h); },
    callRows: (r) => { for (const o of observers) o.callRows(r); },
    httpRowWait: (c, s) => { for (const o of observers) o.httpRowWait(c, s); },
  };
}
