import type { InputRecord, OutboundMessage } from './records.js';
import type { OffsetTracker } from './offsetTracker.js';

/**
 * Where the Kafka input's outcomes go, one implementation per delivery guarantee (atLeastOnce.ts, exactlyOnce.ts).
 * The input calls `write` from its write queue: one call at a time, in input order.
 */
export interface KafkaOutput {
  /** True when the output commits input offsets itself, with the outcomes (exactly-once); the input then commits none. */
  readonly commitsOffsets: boolean;
  /** Connected to the broker (readiness: `producerConnected`). */
  readonly connected: boolean;
  /**
   * Outcomes are being written: the last write did not fail, and none has gone unanswered for long (readiness:
   * `outputWritable`). kafkajs retries a write to a broker that is away for tens of seconds before it fails.
   */
  readonly writable: boolean;
  start(): Promise<void>;
  /**
   * Writes one send's outcomes: `messages[i]` is the outcome of `records[i]`; a partition's records come in offset
   * order. Retries until written, until abort(), until a partition is lost (revoked, or fenced by a newer owner), or
   * until a fatal failure (src/kafka/errors.ts: an ACL, a deleted topic), which it reports through the context's
   * `onFatal` once; after that it writes nothing more (`writable` stays false). Resolves with the records whose
   * outcomes were written; their offsets are then committed (`commitsOffsets`) or marked done in the tracker for the
   * input to commit. Never rejects.
   */
  write(records: readonly InputRecord[], messages: readonly OutboundMessage[]): Promise<readonly InputRecord[]>;
  /**
   * Offsets of a partition were passed over (control records, aborted transactions; already done in the tracker).
   * Returns a step the input runs in write order when the output must commit them itself, or null.
   */
  passedOver(topic: string, partition: number): (() => Promise<void>) | null;
  /**
   * Before a newly assigned partition's first records are taken: resolves to the offset below which an earlier owner
   * already wrote every outcome (exactly-once: after fencing it), or null. A rejection is retried with the next fetch.
   */
  claim(topic: string, partition: number): Promise<string | null>;
  /** The partition was revoked. */
  release(topic: string, partition: number): void;
  /** Stops retrying failed writes (shutdown deadline): what is unwritten stays uncommitted. */
  abort(): void;
  /** Disconnects, after the writes running now have ended. Idempotent. */
  close(): Promise<void>;
}

/** What an output is built with by the input that owns it. */
export interface OutputContext {
  tracker: OffsetTracker;
  /** Metadata committed with each input partition's offset (a replay stores its plan there). */
  commitMetadata: (topic: string, partition: number) => string | null;
  /** Called (once) when the output failed for good: the process should stop, committing only what was written. */
  onFatal: (err: Error) => void;
  /**
   * Called when a partition was lost to a fence (exactly-once) and its in-flight outcomes dropped: the input reads it
   * again from its committed offset unless a rebalance takes it away.
   */
  onLost: (topic: string, partition: number) => void;
}

/**
 * The producer of at-least-once outcomes. `send` resolves only when the broker has acknowledged every message and
 * rejects otherwise, with a StreamserveError: `retryable` (the caller assumes none were written and sends them all
 * again) or fatal (src/kafka/errors.ts `isFatal`: never retried). Messages of one partition are written in the order
 * given.
 */
export interface Sink {
  send(messages: readonly OutboundMessage[]): Promise<void>;
}

/** One input partition's outcomes and the offset to commit with them. */
export interface PartitionCommit {
  source: { topic: string; partition: number };
  messages: readonly OutboundMessage[];
  /** The next offset to read once these outcomes are written, as Kafka commits it. */
  nextOffset: string;
}

/**
 * The producers of exactly-once outcomes: `commit` writes the outcomes and commits the input offset atomically (one
 * Kafka transaction), resolving only when the transaction is committed. A rejection with code PRODUCER_FENCED means
 * another owner has the partition: its outcomes must be dropped, never retried. A fatal rejection (`isFatal`) is
 * never retried either. Any rejection wrote nothing.
 */
export interface TransactionalSink {
  commit(commit: PartitionCommit): Promise<void>;
}
