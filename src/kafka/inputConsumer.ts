import type { KafkaMessage } from 'kafkajs';
import type { CommitPosition } from './offsetTracker.js';

/* The Kafka input's consumer port: what it is handed (fetched batches) and what it asks of a consumer. */

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One partition's fetched batch, as kafkajs hands it over. */
export interface FetchedBatch extends TopicPartition {
  messages: KafkaMessage[];
  /**
   * The offset the fetch position moves past once the batch is taken (its last record, control records included),
   * or null when nothing in it may be passed over (a bounded input's end lies before it).
   */
  lastOffset: string | null;
  highWatermark: string;
  /** False once the consumer stopped or the group rebalanced since the fetch: the batch must not be taken. */
  current(): boolean;
}

/** What the consumer hands fetched data to. A bounded input decorates it (src/replay/boundedBatches.ts). */
export interface BatchHandler {
  /**
   * Takes one fetched batch (batches of one partition come in offset order, one at a time). Resolves true when it
   * was taken; false leaves it unresolved, so kafkajs fetches it again (backpressure, a stale batch).
   */
  batch(batch: FetchedBatch): Promise<boolean>;
  /** A fetched batch with no records to score (only control records or aborted messages) up to `lastOffset`. */
  empty(tp: TopicPartition, lastOffset: string, highWatermark: string): void;
}

/** What the Kafka input needs of its consumer; `GroupConsumer` (consumer.ts), or a stub that hands in batches itself. */
export interface InputConsumer {
  readonly joined: boolean;
  readonly fetching: boolean;
  readonly paused: boolean;
  start(handler: BatchHandler): Promise<void>;
  commit(positions: readonly (CommitPosition & { metadata?: string | null })[]): Promise<void>;
  setPaused(paused: boolean): void;
  /**
   * Leaves the group and joins it again: every partition assigned afresh, read from its committed offset. False
   * (nothing done) while a join is already under way or the consumer is stopping.
   */
  rejoin(): boolean;
  pauseForGood(partition: number): void;
  stopFetching(): void;
  close(): Promise<void>;
}
