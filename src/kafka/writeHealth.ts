import type { Logger } from 'pino';

export interface WriteHealthOptions {
  logger: Logger;
  /** A write unsettled this long counts as the output not answering. */
  stallMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

const DEFAULT_STALL_MS = 5000;

/**
 * Runs an output's writes until they succeed, with exponential backoff, and says whether the output is writable:
 * the last write did not fail and none has gone unanswered for `stallMs`.
 */
export class WriteHealth {
  readonly #o: WriteHealthOptions;
  readonly #now: () => number;
  /** Writes started and not yet settled, each with its start time: the oldest says whether the broker answers. */
  readonly #writing = new Set<{ since: number }>();
  #failing = false;
  #aborted = false;
  /** A write failed fatally: the output is unwritable for good and writes no more. */
  #fatal = false;

  constructor(options: WriteHealthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get writable(): boolean {
    if (this.#failing || this.#fatal) return false;
    const stallMs = this.#o.stallMs ?? DEFAULT_STALL_MS;
    const now = this.#now();
    for (const w of this.#writing) if (now - w.since >= stallMs) return false;
    return true;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** The output failed for good outside a write (e.g. claiming a partition): no write is attempted any more. */
  fail(): void {
    this.#fatal = true;
  }

  /** A write failed in a way no retry fixes: no write is attempted any more. */
  get fatal(): boolean {
    return this.#fatal;
  }

  /** Retries stop; `untilWritten` resolves false at its next attempt. */
  abort(): void {
    this.#aborted = true;
  }

  /**
   * Runs `write` until it resolves (true), abort() or `give up` says so before an attempt (false). After a failure,
   * `failed` decides: 'retry' (the output is unwritable until a write succeeds), 'drop' (resolves false at once) or
   * 'fatal' (resolves false, and so does every write after it, at once: the output is unwritable for good).
   */
  async untilWritten(
    write: () => Promise<void>,
    failed: (err: unknown, retryInMs: number) => 'retry' | 'drop' | 'fatal',
    giveUp: () => boolean = () => false,
  ): Promise<boolean> {
    let backoff = this.#o.backoffMs ?? 100;
    for (;;) {
      if (this.#aborted || this.#fatal || giveUp()) return false;
      const token = { since: this.#now() };
      this.#writing.add(token);
      try {
        await write();
        this.#setFailing(false);
        return true;
      } catch (err) {
        // A write running beside this one may have failed fatally meanwhile: its verdict stands.
        if (this.#fatal) return false;
        const verdict = failed(err, backoff);
        if (verdict === 'drop') return false;
        if (verdict === 'fatal') {
          this.#fatal = true;
          return false;
        }
        this.#setFailing(true);
      } finally {
        this.#writing.delete(token);
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(this.#o.maxBackoffMs ?? 5000, backoff * 2);
    }
  }

  #setFailing(failing: boolean): void {
    if (failing === this.#failing) return;
    this.#failing = failing;
    this.#o.logger[failing ? 'warn' : 'info'](failing ? 'output not writable' : 'output writable again');
  }
}
