import type { Logger } from 'pino';
import { tpKey } from './records.js';

export interface FenceRecoveryOptions {
  /** How long a lost partition waits for the rebalance that would revoke it. */
  delayMs: number;
  /** Whether the partition is still lost to the fence and still assigned here (nothing else will read it again). */
  stranded: (topic: string, partition: number) => boolean;
  /** Leaves and rejoins the group; false while a join is already under way (src/kafka/inputConsumer.ts). */
  rejoin: () => boolean;
  logger: Logger;
}

/**
 * The way back to a partition lost to a fence (exactly-once). A newer owner comes with a rebalance that revokes the
 * partition here. A fence can also come without one — a zombie's retry re-fencing the owner, or the transaction
 * coordinator bumping the epoch of a transaction it aborted on timeout (a broker paused or restarted mid-transaction)
 * — and then nothing of the partition would be taken in again, ever. So when it is still stranded after `delayMs`,
 * the consumer rejoins the group: the new assignment claims it again (fence, re-read the committed offset) and reads
 * it from there. One check per partition at a time.
 */
export class FenceRecovery {
  readonly #o: FenceRecoveryOptions;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #stopped = false;

  constructor(options: FenceRecoveryOptions) {
    this.#o = options;
  }

  lost(topic: string, partition: number): void {
    const key = tpKey(topic, partition);
    if (this.#stopped || this.#timers.has(key)) return;
    const check = () => {
      this.#timers.delete(key);
      if (this.#stopped || !this.#o.stranded(topic, partition)) return;
      if (this.#o.rejoin()) {
        this.#o.logger.warn({ topic, partition }, 'fenced without a rebalance; rejoining the group to read the partition again from its committed offset');
        return;
      }
      // A join is under way (its assignment settles the partition either way): look again after it.
      this.#timers.set(key, setTimeout(check, this.#o.delayMs).unref());
    };
    this.#timers.set(key, setTimeout(check, this.#o.delayMs).unref());
  }

  /** No more rejoins (a graceful stop drains, it does not read again). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
