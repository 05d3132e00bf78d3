import type { Logger } from 'pino';
import type { CommitPosition } from './offsetTracker.js';
import { isFatal } from './errors.js';

export interface CommitSchedulerOptions {
  /** The shortest time between two commits (a crash repeats at most about this much work). */
  intervalMs: number;
  /** What is acknowledged and not yet committed, for the partitions still owned. */
  uncommitted: () => CommitPosition[];
  /** Commits the positions (as a group member); rejects when it failed. */
  commit: (positions: CommitPosition[]) => Promise<void>;
  /** Called with what a commit wrote. */
  committed: (positions: CommitPosition[]) => void;
  /** Called when a commit failed for good (src/kafka/errors.ts `isFatal`); it is not retried. */
  onFatal?: (err: Error) => void;
  logger: Logger;
  now?: () => number;
}

const RETRY_MS = 1000;

/**
 * At-least-once commits of acknowledged offsets. Coalesces: at most one commit in flight, and commits start at most
 * once per interval (a request in between asks for one at the end of the interval). A failed commit is retried,
 * unless it failed for good.
 */
export class CommitScheduler {
  readonly #o: CommitSchedulerOptions;
  readonly #now: () => number;
  #running: Promise<void> | null = null;
  #again = false;
  #retry: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastAt = 0;
  #closed = false;

  constructor(options: CommitSchedulerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** New offsets may be committable: commit them soon. */
  request(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer || this.#closed) return;
    const wait = this.#lastAt + this.#o.intervalMs - this.#now();
    if (wait > 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.request();
      }, wait);
      return;
    }
    this.#lastAt = this.#now();
    this.#running = this.#commit().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.request();
      }
    });
  }

  /** Waits for the running commit, then commits once more, now (shutdown, after the last write). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#running) await this.#running;
    await this.#commit();
  }

  /** Stops the timers; no commit starts after this. */
  close(): void {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#timer) clearTimeout(this.#timer);
  }

  async #commit(): Promise<void> {
    const positions = this.#o.uncommitted();
    if (positions.length === 0) return;
    try {
      await this.#o.commit(positions);
      this.#o.committed(positions);
    } catch (err) {
      if (isFatal(err)) {
        // Logged once, where the process stops on it.
        this.#o.logger.warn({ code: err.code, positions }, 'commit failed for good; not retrying');
        this.close();
        this.#o.onFatal?.(err);
        return;
      }
      this.#o.logger.warn({ err, positions }, 'commit failed; will retry');
      if (!this.#retry && !this.#closed) {
        this.#retry = setTimeout(() => {
          this.#retry = null;
          this.request();
        }, RETRY_MS);
      }
    }
  }
}
