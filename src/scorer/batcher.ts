export interface BatchPolicyOptions {
  maxBatchSize: number;
  maxBatchDelayMs: number;
  now?: () => number;
}

/** A FIFO queue that does not copy a long backlog on every take. */
class Lane<T> {
  #items: T[] = [];
  /** Items before this index were taken. */
  #head = 0;
  oldestAt = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  add(item: T, now: number): void {
    if (this.size === 0) this.oldestAt = now;
    this.#items.push(item);
  }

  /** Removes and returns up to `max` items, oldest first; left-overs keep the old start time (never later than theirs). */
  take(max: number): T[] {
    const items = this.#items;
    if (this.#head === 0 && items.length <= max) {
      this.#items = [];
      return items;
    }
    const end = Math.min(items.length, this.#head + max);
    const batch = items.slice(this.#head, end);
    this.#head = end;
    if (end === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (end > 1024 && end * 2 > items.length) {
      this.#items = items.slice(end);
      this.#head = 0;
    }
    return batch;
  }
}

/**
 * When to flush, with no I/O of its own: the caller adds items, asks whether to flush now or how long it may
 * wait, and takes a batch. Flush when `maxBatchSize` items are queued or the oldest has waited
 * `maxBatchDelayMs`; the caller also flushes at once when no more input is immediately available.
 *
 * Items added as `urgent` (an interactive caller waiting for its answer) go into the next batch ahead of every
 * item queued normally (a backlog), and keep their own order.
 */
export class BatchPolicy<T> {
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
  #now: () => number;
  readonly #normal = new Lane<T>();
  readonly #urgent = new Lane<T>();

  constructor(options: BatchPolicyOptions) {
    this.maxBatchSize = options.maxBatchSize;
    this.maxBatchDelayMs = options.maxBatchDelayMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#normal.size + this.#urgent.size;
  }

  add(item: T, urgent = false): void {
    (urgent ? this.#urgent : this.#normal).add(item, this.#now());
  }

  /** True when a full batch is queued or the oldest item's linger is over. */
  shouldFlush(): boolean {
    return this.size >= this.maxBatchSize || (this.size > 0 && this.msUntilDeadline() === 0);
  }

  /** Milliseconds until the oldest item's linger ends; null when empty. */
  msUntilDeadline(): number | null {
    const normal = this.#normal.size > 0 ? this.#normal.oldestAt : Infinity;
    const urgent = this.#urgent.size > 0 ? this.#urgent.oldestAt : Infinity;
    const oldest = Math.min(normal, urgent);
    if (oldest === Infinity) return null;
    return Math.max(0, oldest + this.maxBatchDelayMs - this.#now());
  }

  /** Removes and returns up to `maxBatchSize` items: urgent ones first, then the oldest of the rest. */
  take(): T[] {
    if (this.#urgent.size === 0) return this.#normal.take(this.maxBatchSize);
    const batch = this.#urgent.take(this.maxBatchSize);
    const room = this.maxBatchSize - batch.length;
    if (room > 0 && this.#normal.size > 0) for (const item of this.#normal.take(room)) batch.push(item);
    return batch;
  }
}
