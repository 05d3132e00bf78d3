import type { BatchHandler, FetchedBatch, TopicPartition } from '../kafka/inputConsumer.js';
import type { InputBounds } from '../kafka/bounds.js';

/**
 * A replay's bounds on the Kafka input: each partition is read from where the plan starts (its committed offset)
 * up to an exclusive end offset; a partition without one has nothing to read. Records at or past the end are never
 * taken, no position is passed over past it, and a partition that reached it stops fetching. Every commit carries
 * the partition's plan as metadata (src/replay/planStore.ts).
 */
export class BoundedInput implements InputBounds {
  readonly #topic: string;
  readonly #ends: ReadonlyMap<number, bigint>;
  readonly #metadata: (partition: number) => string | null;

  constructor(options: { topic: string; endOffsets: ReadonlyMap<number, string>; metadata: (partition: number) => string | null }) {
    this.#topic = options.topic;
    this.#ends = new Map([...options.endOffsets].map(([p, end]) => [p, BigInt(end)]));
    this.#metadata = options.metadata;
  }

  commitMetadata(topic: string, partition: number): string | null {
    return topic === this.#topic ? this.#metadata(partition) : null;
  }

  batches(inner: BatchHandler, stop: (partition: number) => void): BatchHandler {
    const ended = new Set<number>();
    const stopAt = (partition: number, lastOffset: string) => {
      if (BigInt(lastOffset) >= this.#end(partition) - 1n && !ended.has(partition)) {
        ended.add(partition);
        stop(partition);
      }
    };
    return {
      batch: async (batch: FetchedBatch) => {
        const end = this.#end(batch.partition);
        const messages = batch.messages.filter((m) => BigInt(m.offset) < end);
        const taken = await inner.batch({ ...batch, messages, lastOffset: this.#clamp(batch.partition, batch.lastOffset) });
        if (taken && batch.lastOffset !== null) stopAt(batch.partition, batch.lastOffset);
        return taken;
      },
      empty: (tp: TopicPartition, lastOffset: string, highWatermark: string) => {
        const clamped = this.#clamp(tp.partition, lastOffset);
        if (clamped !== null) inner.empty(tp, clamped, highWatermark);
        stopAt(tp.partition, lastOffset);
      },
    };
  }

  /** The partition's exclusive end offset (0: nothing to read). */
  #end(partition: number): bigint {
    return this.#ends.get(partition) ?? 0n;
  }

  /** Never past the end: nothing at or past it is ours to pass over. */
  #clamp(partition: number, offset: string | null): string | null {
    if (offset === null) return null;
    const end = this.#end(partition);
    if (BigInt(offset) < end) return offset;
    return end > 0n ? (end - 1n).toString() : null;
  }
}
