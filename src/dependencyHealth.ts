import type { Logger } from 'pino';
import { isFatal } from './errors.js';

/**
 * Whether a dependency of the pipeline (a Schema Registry) answers. A failing dependency is not poison: while it is
 * unhealthy the input takes nothing in, and readiness is 503 with the check `name` false.
 */
export interface DependencyHealth {
  /** The readiness check's name, e.g. `schemaRegistryReachable`. */
  readonly name: string;
  readonly healthy: boolean;
  /** Calls `listener` with every change. */
  onChange(listener: (healthy: boolean) => void): void;
}

export interface RetryingHealthOptions {
  name: string;
  logger: Logger;
  /** First wait before trying again; doubles up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A dependency's health that mends itself: `failed(err, retry)` marks it unhealthy and, unless already retrying,
 * calls `retry` with backoff until it resolves (or rejects with a fatal refusal: the dependency answered), then marks
 * it healthy again. (The input pauses meanwhile; resumed, it fetches the same records again.)
 */
export class RetryingHealth implements DependencyHealth {
  readonly name: string;
  readonly #o: RetryingHealthOptions;
  readonly #listeners: ((healthy: boolean) => void)[] = [];
  #healthy = true;
  #retrying = false;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: RetryingHealthOptions) {
    this.name = options.name;
    this.#o = options;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  onChange(listener: (healthy: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** The dependency failed a call; `retry` makes one like it (and resolves when it was answered). */
  failed(err: unknown, retry: () => Promise<unknown>): void {
    if (this.#healthy) this.#o.logger.error({ err }, `${this.name}: the dependency is unavailable; pausing the input and retrying`);
    this.#set(false);
    if (this.#retrying || this.#closed) return;
    this.#retrying = true;
    void this.#retry(retry);
  }

  /** A call was answered: healthy again (a retry loop in progress ends at its next try). */
  succeeded(): void {
    this.#set(true);
  }

  /** Stops retrying (shutdown). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #retry(retry: () => Promise<unknown>): Promise<void> {
    let backoff = this.#o.backoffMs ?? 250;
    try {
      while (!this.#healthy && !this.#closed) {
        await new Promise<void>((resolve) => {
          // unref: the input this health pauses keeps the process alive; a retry alone must not
          this.#timer = setTimeout(resolve, backoff).unref();
        });
        this.#timer = null;
        if (this.#healthy || this.#closed) return;
        try {
          await retry();
          this.#o.logger.info(`${this.name}: the dependency answers again; resuming`);
          this.#set(true);
        } catch (err) {
          if (isFatal(err)) {
            // It answered, with a refusal (401, 403): no outage to wait out. Healthy again, the input takes the batch
            // again, and its decode meets the refusal, which stops the process (logged once, there).
            this.#set(true);
            return;
          }
          this.#o.logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: backoff }, `${this.name}: still unavailable`);
          backoff = Math.min(this.#o.maxBackoffMs ?? 10_000, backoff * 2);
        }
      }
    } finally {
      this.#retrying = false;
    }
  }

  #set(healthy: boolean): void {
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    for (const listener of this.#listeners) listener(healthy);
  }
}
