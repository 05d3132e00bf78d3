import type { OutboundMessage } from './record.js';

/**
 * Where outcomes are written. `send` resolves only when the broker has acknowledged every message and
 * rejects otherwise; after a rejection the caller assumes none were written and sends them all again.
 * Messages of one partition are written in the order given.
 */
export interface Sink {
  send(messages: OutboundMessage[]): Promise<void>;
}

/** One input partition's outcomes and the offset to commit with them. */
export interface PartitionCommit {
  source: { topic: string; partition: number };
  messages: OutboundMessage[];
  /** The next offset to read once these outcomes are written, as Kafka commits it. */
  nextOffset: string;
}

/**
 * Exactly-once: `commit` writes the outcomes and commits the input offset atomically (one Kafka transaction),
 * resolving only when the transaction is committed. A rejection with code PRODUCER_FENCED means another owner
 * has the partition: its outcomes must be dropped, never retried. Any other rejection wrote nothing; retry.
 */
export interface TransactionalSink {
  commit(commit: PartitionCommit): Promise<void>;
}
