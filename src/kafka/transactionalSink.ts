import { Partitioners, type Kafka, type PartitionOffset, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { produceRequests } from './requests.js';
import { tpKey } from '../pipeline/record.js';
import type { PartitionCommit, TransactionalSink } from '../pipeline/sink.js';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';

export interface TransactionalSinkOptions {
  kafka: Kafka;
  groupId: string;
  /** Transactional ids are `${prefix}-${topic}-${partition}`: stable across restarts and instances. */
  transactionalIdPrefix: string;
  transactionTimeoutMs: number;
  logger: Logger;
  /** Metadata committed with each input partition's offset (replay stores its plan there). */
  offsetMetadata?: (topic: string, partition: number) => string | null;
}

/** kafkajs error types that mean another producer with our transactional id has taken over. */
const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

/**
 * Exactly-once writes: one transactional producer per input partition, so whoever owns a partition fences any
 * earlier owner (a zombie after a rebalance, or this instance before a restart). Each commit writes one input
 * partition's outcomes and its consumer offset in one transaction.
 */
export class KafkaTransactionalSink implements TransactionalSink {
  readonly #o: TransactionalSinkOptions;
  readonly #log: Logger;
  readonly #producers = new Map<string, Promise<Producer>>();
  #closing: Promise<void> | null = null;

  constructor(options: TransactionalSinkOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'tx-sink' });
  }

  /**
   * Takes ownership of a partition's transactional id: initialising it aborts or completes whatever an
   * earlier owner left open, so afterwards the committed offset can no longer move under us.
   */
  async fence(topic: string, partition: number): Promise<void> {
    await this.#producer(topic, partition);
  }

  async commit(commit: PartitionCommit): Promise<void> {
    const { topic, partition } = commit.source;
    const producer = await this.#producer(topic, partition);
    let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      tx = await producer.transaction();
      for (const topicMessages of produceRequests(commit.messages)) await tx.sendBatch({ topicMessages });
      // kafkajs passes `metadata` through to TxnOffsetCommit, though its types leave it out.
      const offset: PartitionOffset & { metadata?: string | null } = { partition, offset: commit.nextOffset };
      if (this.#o.offsetMetadata) offset.metadata = this.#o.offsetMetadata(topic, partition);
      await tx.sendOffsets({ consumerGroupId: this.#o.groupId, topics: [{ topic, partitions: [offset] }] });
      await tx.commit();
    } catch (cause) {
      // A failed transaction leaves the producer in a state not worth reasoning about: abort what can be
      // aborted, drop the producer, and let the next attempt start with a fresh one (same id, new epoch).
      if (tx?.isActive()) await tx.abort().catch(() => {});
      await this.#discard(topic, partition);
      const type = (cause as { type?: string }).type ?? '';
      if (FENCED.has(type)) {
        throw new StreamserveError(ErrorCodes.PRODUCER_FENCED, `another owner took over ${topic}:${partition}: ${messageOf(cause)}`, {
          cause,
        });
      }
      throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `transaction for ${topic}:${partition} failed: ${messageOf(cause)}`, {
        retryable: true,
        cause,
      });
    }
  }

  /** Gives up a partition (revoked): its producer is closed; the new owner's producer fences it anyway. */
  async release(topic: string, partition: number): Promise<void> {
    await this.#discard(topic, partition);
  }

  get connected(): boolean {
    return this.#closing === null;
  }

  #producer(topic: string, partition: number): Promise<Producer> {
    const key = tpKey(topic, partition);
    let p = this.#producers.get(key);
    if (!p) {
      p = (async () => {
        const producer = this.#o.kafka.producer({
          transactionalId: `${this.#o.transactionalIdPrefix}-${topic}-${partition}`,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: this.#o.transactionTimeoutMs,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
        // kafkajs initialises the transactional id lazily; an empty transaction does it now (this is the fence).
        const tx = await producer.transaction();
        await tx.abort();
        this.#log.debug({ topic, partition }, 'transactional producer ready');
        return producer;
      })();
      this.#producers.set(key, p);
      p.catch(() => {
        if (this.#producers.get(key) === p) this.#producers.delete(key);
      });
    }
    return p;
  }

  async #discard(topic: string, partition: number): Promise<void> {
    const key = tpKey(topic, partition);
    const p = this.#producers.get(key);
    this.#producers.delete(key);
    if (p) await p.then((producer) => producer.disconnect()).catch(() => {});
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#producers.values()].map((p) => p.then((producer) => producer.disconnect()))).then(
      () => this.#producers.clear(),
    );
    return this.#closing;
  }
}
