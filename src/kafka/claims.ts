import type { Logger } from 'pino';
import { isFatal } from './errors.js';
import { tpKey } from './records.js';

/**
 * Each partition's claim (exactly-once: fence, then read the committed offset; null when the output needs none),
 * made once per assignment and shared by every batch until forgotten. A failed claim is forgotten, so the next
 * batch tries again (kafkajs fetches the batch again: nothing of it was resolved).
 */
export class PartitionClaims {
  readonly #claims = new Map<string, Promise<string | null>>();
  readonly #make: (topic: string, partition: number) => Promise<string | null>;
  readonly #log: Logger;

  constructor(make: (topic: string, partition: number) => Promise<string | null>, logger: Logger) {
    this.#make = make;
    this.#log = logger;
  }

  /** The committed offset the claim read (records below it are passed over), claiming the partition first if needed. */
  claim(topic: string, partition: number): Promise<string | null> {
    const key = tpKey(topic, partition);
    let claim = this.#claims.get(key);
    if (!claim) {
      claim = this.#make(topic, partition);
      this.#claims.set(key, claim);
      claim.catch((err: unknown) => {
        // A fatal failure was reported by the output (and is logged once, where the process stops on it).
        if (isFatal(err)) this.#log.warn({ code: err.code, topic, partition }, 'claiming partition failed for good');
        else this.#log.warn({ err, topic, partition }, 'claiming partition failed');
        if (this.#claims.get(key) === claim) this.#claims.delete(key);
      });
    }
    return claim;
  }

  /** Revoked, or lost to a fence and assigned again: the next batch claims it anew. */
  forget(topic: string, partition: number): void {
    this.#claims.delete(tpKey(topic, partition));
  }
}
