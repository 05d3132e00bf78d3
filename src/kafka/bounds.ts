import type { BatchHandler } from './inputConsumer.js';

/** What a bounded input (a replay, src/replay/) changes: which fetched records are taken, and commit metadata. */
export interface InputBounds {
  /** Wraps the input's batch handler; `stop` stops fetching a partition for good. */
  batches(inner: BatchHandler, stop: (partition: number) => void): BatchHandler;
  /** Committed with every input offset. */
  commitMetadata(topic: string, partition: number): string | null;
}
