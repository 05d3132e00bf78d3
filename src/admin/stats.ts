import type { ErrorCode, Stage } from '../errors.js';
import type { Observer, RowSource } from '../observer.js';

export interface StatsSnapshot {
  recordsIn: number;
  predictions: number;
  deadLetters: number;
  deadLettersByStageAndCode: Record<string, number>;
  modelCalls: number;
  rowsScored: number;
  /** Rows taken into model calls, by where they came from. */
  rowsBySource: Record<RowSource, number>;
  /** Model calls that held rows of both sources. */
  mixedModelCalls: number;
  /** Most model calls an HTTP row waited behind (Observer.httpRowWait). */
  maxCallsWaited: number;
  sinkErrors: number;
  backpressurePauses: number;
  /** Times the model stopped scoring rows it is known to score (inputs paused until it scored again). */
  modelFailures: number;
  /** Most records held unacknowledged at once. */
  peakInflight: number;
  outcomesPerSecond: number;
}

/** Plain counters and a recent rate for /status (Prometheus counters are for scrapers, not for JSON). */
export class Stats implements Observer {
  #in = 0;
  #predictions = 0;
  #deadLetters = 0;
  #byCode: Record<string, number> = {};
  #calls = 0;
  #rows = 0;
  #bySource: Record<RowSource, number> = { kafka: 0, http: 0 };
  #mixed = 0;
  #maxCallsWaited = 0;
  #sinkErrors = 0;
  #pauses = 0;
  #modelFailures = 0;
  #peakInflight = 0;
  /** Acknowledged outcomes per one-second bucket, newest last, ~10 s kept. */
  #window: { at: number; outcomes: number }[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  recordsIn(_topic: string, _partition: number, count: number): void {
    this.#in += count;
  }
  prediction(count: number): void {
    this.#predictions += count;
  }
  deadLetter(stage: Stage, code: ErrorCode): void {
    this.#deadLetters++;
    const key = `${stage}/${code}`;
    this.#byCode[key] = (this.#byCode[key] ?? 0) + 1;
  }
  batch(rows: number): void {
    this.#calls++;
    this.#rows += rows;
  }
  callRows(rows: Readonly<Record<RowSource, number>>): void {
    this.#bySource.kafka += rows.kafka;
    this.#bySource.http += rows.http;
    if (rows.kafka > 0 && rows.http > 0) this.#mixed++;
  }
  httpRowWait(callsWaited: number): void {
    if (callsWaited > this.#maxCallsWaited) this.#maxCallsWaited = callsWaited;
  }
  latency(): void {
    const now = this.#now();
    const last = this.#window[this.#window.length - 1];
    if (last && now - last.at < 1000) last.outcomes++;
    else this.#window.push({ at: now, outcomes: 1 });
    while (this.#window.length > 0 && now - this.#window[0]!.at > 10_000) this.#window.shift();
  }
  inflight(records: number): void {
    if (records > this.#peakInflight) this.#peakInflight = records;
  }
  backpressure(paused: boolean): void {
    if (paused) this.#pauses++;
  }
  modelHealth(healthy: boolean): void {
    if (!healthy) this.#modelFailures++;
  }
  sinkError(): void {
    this.#sinkErrors++;
  }

  snapshot(): StatsSnapshot {
    const now = this.#now();
    const recent = this.#window.filter((w) => now - w.at <= 10_000);
    const span = recent.length === 0 ? 1 : Math.max(1000, now - recent[0]!.at) / 1000;
    return {
      recordsIn: this.#in,
      predictions: this.#predictions,
      deadLetters: this.#deadLetters,
      deadLettersByStageAndCode: { ...this.#byCode },
      modelCalls: this.#calls,
      rowsScored: this.#rows,
      rowsBySource: { ...this.#bySource },
      mixedModelCalls: this.#mixed,
      maxCallsWaited: this.#maxCallsWaited,
      sinkErrors: this.#sinkErrors,
      backpressurePauses: this.#pauses,
      modelFailures: this.#modelFailures,
      peakInflight: this.#peakInflight,
      outcomesPerSecond: Math.round(recent.reduce((n, w) => n + w.outcomes, 0) / span),
    };
  }
}
