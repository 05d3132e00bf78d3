import type { Logger } from 'pino';
import type { Observer } from '../observer.js';
import type { Scorer } from '../scorer/scorer.js';
import type { DependencyHealth } from '../dependencyHealth.js';
import type { InputConsumer } from './inputConsumer.js';

/** How long after an interactive (HTTP) row the Kafka input keeps to its smaller in-flight bound. */
export const INTERACTIVE_WINDOW_MS = 1000;

/**
 * How much the Kafka input takes in: it counts records taken in and not yet written, and pauses fetching while that
 * count is at `maxInflightRecords` (backpressure: resumed at half), while the model fails rows it is known to score,
 * or while another dependency (the Schema Registry) is unavailable: a failing dependency is not poison, nothing more
 * is taken in until it works again.
 *
 * While interactive callers are being served (an urgent row in the last second), the bound is
 * `interactiveInflightRecords` instead: every record in flight is main-thread work (decoding, encoding, producing)
 * an HTTP request waits behind, so the backlog drains with less of it queued.
 */
export class Intake {
  readonly #consumer: InputConsumer;
  readonly #scorer: Scorer;
  readonly #max: number;
  readonly #interactiveMax: number;
  readonly #observer: Observer;
  readonly #log: Logger;
  readonly #dependencies: readonly DependencyHealth[];
  #inflight = 0;
  #backpressured = false;
  /** The last pause or resume was for (or ended) a failing dependency. */
  #wasFailing = false;

  constructor(options: {
    consumer: InputConsumer;
    scorer: Scorer;
    maxInflightRecords: number;
    /** The bound while interactive callers are served (0: the same as maxInflightRecords). */
    interactiveInflightRecords?: number;
    observer: Observer;
    logger: Logger;
    dependencies?: readonly DependencyHealth[];
  }) {
    this.#consumer = options.consumer;
    this.#scorer = options.scorer;
    this.#max = options.maxInflightRecords;
    this.#interactiveMax = Math.min(options.interactiveInflightRecords || this.#max, this.#max);
    this.#observer = options.observer;
    this.#log = options.logger;
    this.#dependencies = options.dependencies ?? [];
    this.#scorer.onHealthChange(() => this.#apply());
    for (const dependency of this.#dependencies) dependency.onChange(() => this.#apply());
  }

  /** Records taken in and not yet written. */
  get inflight(): number {
    return this.#inflight;
  }

  hold(count: number): void {
    this.#inflight += count;
    this.#observer.inflight(this.#inflight);
    if (!this.#backpressured && this.#inflight >= this.#limit()) {
      this.#backpressured = true;
      this.#observer.backpressure(true);
      this.#apply();
    }
  }

  /** Records leave the in-flight count (written, dropped or given up). */
  release(count: number): void {
    this.#inflight -= count;
    this.#observer.inflight(this.#inflight);
    if (this.#backpressured && this.#inflight <= this.#limit() / 2) {
      this.#backpressured = false;
      this.#observer.backpressure(false);
      this.#apply();
    }
  }

  /** The in-flight bound now: the smaller one while an urgent row came in the last INTERACTIVE_WINDOW_MS. */
  #limit(): number {
    if (this.#interactiveMax === this.#max) return this.#max;
    return performance.now() - this.#scorer.lastUrgentAt < INTERACTIVE_WINDOW_MS ? this.#interactiveMax : this.#max;
  }

  #apply(): void {
    const unavailable = this.#dependencies.filter((d) => !d.healthy).map((d) => d.name);
    const pause = this.#backpressured || !this.#scorer.healthy || unavailable.length > 0;
    if (pause === this.#consumer.paused) return;
    this.#consumer.setPaused(pause);
    // Backpressure comes and goes many times a second under load; a failing dependency, and its end, are worth a line.
    const failing = !this.#scorer.healthy || unavailable.length > 0;
    const level = failing || this.#wasFailing ? 'info' : 'debug';
    this.#wasFailing = failing;
    this.#log[level](
      { inflight: this.#inflight, modelHealthy: this.#scorer.healthy, ...(unavailable.length > 0 ? { unavailable } : {}) },
      pause ? 'paused input' : 'resumed input',
    );
  }
}
