export interface BatchPolicyOptions {
  maxBatchSize: number;
  maxBatchDelayMs: number;
  now?: () => number;
}

/**
 * When to flush, with no I/O of its own: the caller adds items, asks whether to flush now or how long it may
 * wait, and takes a batch. Flush when `maxBatchSize` items are queued or the oldest has waited
 * `maxBatchDelayMs`; the caller also flushes at once when no more input is immediately available.
 */
export class BatchPolicy<T> {
  readonly maxBatchSize: number;
  readonly maxBatchDelayMs: number;
  #now: () => number;
  #items: T[] = [];
  /** Items before this index were taken: a long queue is not copied on every take. */
  #head = 0;
  #oldestAt = 0;

  constructor(options: BatchPolicyOptions) {
    this.maxBatchSize = options.maxBatchSize;
    this.maxBatchDelayMs = options.maxBatchDelayMs;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  add(item: T): void {
    if (this.size === 0) this.#oldestAt = this.#now();
    this.#items.push(item);
  }

  /** True when a full batch is queued or the oldest item's linger is over. */
  shouldFlush(): boolean {
    return this.size >= this.maxBatchSize || (this.size > 0 && this.msUntilDeadline() === 0);
  }

  /** Milliseconds until the oldest item's linger ends; null when empty. */
  msUntilDeadline(): number | null {
    if (this.size === 0) return null;
    return Math.max(0, this.#oldestAt + this.maxBatchDelayMs - this.#now());
  }

  /** Removes and returns up to `maxBatchSize` items, oldest first. */
  take(): T[] {
    const items = this.#items;
    if (this.#head === 0 && items.length <= this.maxBatchSize) {
      this.#items = [];
      return items;
    }
    const end = Math.min(items.length, this.#head + this.maxBatchSize);
    const batch = items.slice(this.#head, end);
    this.#head = end;
    if (end === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (end > 1024 && end * 2 > items.length) {
      this.#items = items.slice(end);
      this.#head = 0;
    }
    // Left-overs keep the old start time: it is no later than their own, so they never wait too long.
    return batch;
  }
}
