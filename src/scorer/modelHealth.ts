import type { Logger } from 'pino';
import type { ModelRuntime } from '../model/model.js';
import { scaleInput, type Signature } from '../model/signature.js';
import { noopObserver, type Observer } from '../observer.js';
import { ModelUnavailable } from './infer.js';

export interface ModelHealthOptions {
  model: ModelRuntime;
  logger: Logger;
  observer?: Observer;
  /** First wait before trying a failed model again; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}


/**
 * Whether the model works, and what to do while it does not. A failing dependency is not poison: when the model
 * fails a row it is known to score (infer.ts ModelUnavailable), no input is answered: the same rows are tried again,
 * with backoff and a fresh runtime where it has one, until the model scores again; meanwhile `healthy` is false
 * (readiness `modelHealthy`, and the Kafka input stops fetching).
 */
export class ModelHealth {
  readonly #o: ModelHealthOptions;
  readonly #observer: Observer;
  readonly #listeners: ((healthy: boolean) => void)[] = [];
  #healthy = true;
  #closed = false;
  /** Ends the wait between two tries at once (close()). */
  #wake: () => void = () => {};
  /** A row the model scored (one of the last batch it scored), or one made from the signature until then. */
  #knownGood: Float32Array;

  constructor(options: ModelHealthOptions) {
    this.#o = options;
    this.#observer = options.observer ?? noopObserver;
    this.#knownGood = signatureRow(options.model.signature);
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  get knownGood(): Float32Array {
    return this.#knownGood;
  }

  /** Calls `listener` with every change of health. */
  onChange(listener: (healthy: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** The model scored this row: it is known good from now on. */
  scored(row: Float32Array): void {
    if (this.#knownGood.length === row.length) this.#knownGood.set(row);
    else this.#knownGood = row.slice();
  }

  /**
   * Runs `score` until it does not reject with ModelUnavailable, waiting with backoff between tries and restarting
   * the runtime before each. Resolves null if close() was called meanwhile (the rows stay unanswered). Other
   * rejections pass through.
   */
  async untilAvailable<T>(score: () => Promise<T>): Promise<T | null> {
    let backoff = this.#o.backoffMs ?? 250;
    for (;;) {
      try {
        const result = await score();
        this.#set(true);
        return result;
      } catch (err) {
        if (!(err instanceof ModelUnavailable)) throw err;
        if (this.#healthy) this.#o.logger.error({ err }, 'the model fails rows it is known to score; pausing inputs and trying it again');
        else this.#o.logger.warn({ err: err.message, retryInMs: backoff }, 'the model still fails');
        this.#set(false);
      }
      if (this.#closed) return null;
      await (this.#o.sleep ?? ((ms: number) => this.#sleep(ms)))(backoff);
      backoff = Math.min(this.#o.maxBackoffMs ?? 10_000, backoff * 2);
      if (this.#closed) return null;
      await this.#o.model.restart?.().catch(() => {}); // the runtime logs why; the next try shows whether it works
      if (this.#closed) return null;
    }
  }

  /** Stops retrying (shutdown): a retry loop in progress resolves null at once, or after the try running now. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #set(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    if (healthy) this.#o.logger.info('the model scores again; resuming');
    this.#observer.modelHealth(healthy);
    for (const listener of this.#listeners) listener(healthy);
  }
}

/** A row inside every input's valid range (the middle of [min, max], else the column's centre), scaled. */
function signatureRow(signature: Signature): Float32Array {
  const row = new Float32Array(signature.inputs.length);
  signature.inputs.forEach((column, i) => {
    const value =
      column.min !== undefined && column.max !== undefined
        ? (column.min + column.max) / 2
        : (column.min ?? column.max ?? (column.transform === 'log' ? Math.exp(column.center) : column.center));
    row[i] = scaleInput(column, value);
  });
  return row;
}
