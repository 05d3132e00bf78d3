import type { Logger } from 'pino';
import type { Observer } from '../observer.js';
import type { Scorer } from '../scorer/scorer.js';
import type { DependencyHealth } from '../dependencyHealth.js';
import type { InputConsumer } from './inputConsumer.js';

/**
 * How much the Kafka input takes in: it counts records taken in and not yet written, and pauses fetching while that
 * count is at `maxInflightRecords` (backpressure: resumed at half), while the model fails rows it is known to score,
 * or while another dependency (the Schema Registry) is unavailable: a failing dependency is not poison, nothing more
 * is taken in until it works again.
 */
export class Intake {
  readonly #consumer: InputConsumer;
  readonly #scorer: Scorer;
  readonly #max: number;
  readonly #observer: Observer;
  readonly #log: Logger;
  readonly #dependencies: readonly DependencyHealth[];
  #inflight = 0;
  #backpressured = false;

  constructor(options: {
    consumer: InputConsumer;
    scorer: Scorer;
    maxInflightRecords: number;
    observer: Observer;
    logger: Logger;
    dependencies?: readonly DependencyHealth[];
  }) {
    this.#consumer = options.consumer;
    this.#scorer = options.scorer;
    this.#max = options.maxInflightRecords;
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
    if (!this.#backpressured && this.#inflight >= this.#max) {
      this.#backpressured = true;
      this.#observer.backpressure(true);
      this.#apply();
    }
  }

  /** Records leave the in-flight count (written, dropped or given up). */
  release(count: number): void {
    this.#inflight -= count;
    this.#observer.inflight(this.#inflight);
    if (this.#backpressured && this.#inflight <= this.#max / 2) {
      this.#backpressured = false;
      this.#observer.backpressure(false);
      this.#apply();
    }
  }

  #apply(): void {
    const unavailable = this.#dependencies.filter((d) => !d.healthy).map((d) => d.name);
    const pause = this.#backpressured || !this.#scorer.healthy || unavailable.length > 0;
    if (pause === this.#consumer.paused) return;
    this.#consumer.setPaused(pause);
    this.#log.info(
      { inflight: this.#inflight, modelHealthy: this.#scorer.healthy, ...(unavailable.length > 0 ? { unavailable } : {}) },
      pause ? 'paused input' : 'resumed input',
    );
  }
}
