import { Partitioners, type Kafka, type PartitionOffset, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { produceRequests } from './requests.js';
import { tpKey } from './records.js';
import type { PartitionCommit, TransactionalSink } from './output.js';
import { ErrorCodes, StreamserveError } from '../errors.js';
import { kafkaFailure, type KafkaCall } from './errors.js';

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

/**
 * Exactly-once writes: one transactional producer per input partition, so whoever owns a partition fences any
 * earlier owner (a zombie after a rebalance, or this instance before a restart). Each commit writes one input
 * partition's outcomes and its consumer offset in one transaction.
 */
export class KafkaTransactionalSink implements TransactionalSink {
  readonly #o: TransactionalSinkOptions;
  readonly #log: Logger;
  /** The current producer of each owned partition. */
  readonly #producers = new Map<string, Promise<Producer>>();
  /** Every producer ever created and not yet disconnected: close() must reach all of them, current or not. */
  readonly #open = new Set<Promise<Producer>>();
  /** The commit running on each partition: a release waits for it, so its producer is not reconnected behind us. */
  readonly #running = new Map<string, Promise<unknown>>();
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
    try {
      await this.#producer(topic, partition);
    } catch (cause) {
      throw kafkaFailure(cause, this.#call(topic, partition, { operation: 'write', topics: [] }), { code: ErrorCodes.PRODUCE_FAILED, message: `claiming ${topic}:${partition} failed` });
    }
  }

  commit(commit: PartitionCommit): Promise<void> {
    const key = tpKey(commit.source.topic, commit.source.partition);
    const running = this.#commit(commit);
    this.#running.set(key, running);
    const clear = () => {
      if (this.#running.get(key) === running) this.#running.delete(key);
    };
    running.then(clear, clear);
    return running;
  }

  async #commit(commit: PartitionCommit): Promise<void> {
    const { topic, partition } = commit.source;
    const handle = this.#producer(topic, partition);
    const failed = `transaction for ${topic}:${partition} failed`;
    const producer = await handle.catch((cause: unknown) => {
      throw kafkaFailure(cause, this.#call(topic, partition, { operation: 'write', topics: [] }), { code: ErrorCodes.PRODUCE_FAILED, message: failed });
    });
    let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
    /** What the transaction was doing to which topics when it failed: what a topic authorization error is about. */
    let step: Pick<KafkaCall, 'operation' | 'topics'> = { operation: 'write', topics: [] };
    try {
      tx = await producer.transaction();
      // A refusal names its topic (patches/kafkajs+2.2.4.patch), so one request may go to several topics.
      for (const topicMessages of produceRequests(commit.messages)) {
        step = { operation: 'write', topics: topicMessages.map((t) => t.topic) };
        await tx.sendBatch({ topicMessages });
      }
      // kafkajs passes `metadata` through to TxnOffsetCommit, though its types leave it out.
      const offset: PartitionOffset & { metadata?: string | null } = { partition, offset: commit.nextOffset };
      if (this.#o.offsetMetadata) offset.metadata = this.#o.offsetMetadata(topic, partition);
      // TxnOffsetCommit needs READ on the group and on the input topic.
      step = { operation: 'read', topics: [topic] };
      await tx.sendOffsets({ consumerGroupId: this.#o.groupId, topics: [{ topic, partitions: [offset] }] });
      step = { operation: 'write', topics: [...new Set(commit.messages.map((m) => m.topic))] };
      await tx.commit();
    } catch (cause) {
      // A failed transaction leaves the producer in a state not worth reasoning about: abort what can be
      // aborted, drop the producer, and let the next attempt start with a fresh one (same id, new epoch).
      if (tx?.isActive()) await tx.abort().catch(() => {});
      // Disconnect the producer this commit used (kafkajs may have reconnected it), not whatever is current now.
      await this.#disconnect(handle, tpKey(topic, partition));
      // Fenced (a newer epoch owns the id): PRODUCER_FENCED; refused (an ACL, a deleted topic): fatal; else retryable.
      throw kafkaFailure(cause, this.#call(topic, partition, step), { code: ErrorCodes.PRODUCE_FAILED, message: failed });
    }
  }

  /** What a transaction of an input partition uses, for naming what a refusal is about. */
  #call(topic: string, partition: number, step: Pick<KafkaCall, 'operation' | 'topics'>): KafkaCall {
    return { ...step, group: this.#o.groupId, transactionalId: this.#transactionalId(topic, partition) };
  }

  #transactionalId(topic: string, partition: number): string {
    return `${this.#o.transactionalIdPrefix}-${topic}-${partition}`;
  }

  /**
   * Gives up a partition (revoked): once its running commit has ended, its producer is closed. (The new owner's
   * producer fences it anyway; closing it early would only make kafkajs reconnect it for the commit's next request.)
   */
  async release(topic: string, partition: number): Promise<void> {
    const key = tpKey(topic, partition);
    await this.#running.get(key)?.catch(() => {});
    const handle = this.#producers.get(key);
    if (handle) await this.#disconnect(handle, key);
  }

  get connected(): boolean {
    return this.#closing === null;
  }

  #producer(topic: string, partition: number): Promise<Producer> {
    if (this.#closing) return Promise.reject(new StreamserveError(ErrorCodes.PRODUCE_FAILED, 'the transactional sink is closed'));
    const key = tpKey(topic, partition);
    let p = this.#producers.get(key);
    if (!p) {
      p = (async () => {
        const producer = this.#o.kafka.producer({
          transactionalId: this.#transactionalId(topic, partition),
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: this.#o.transactionTimeoutMs,
          createPartitioner: Partitioners.DefaultPartitioner,
          // A transaction's first request is refused (CONCURRENT_TRANSACTIONS) while the previous one completes;
          // the client's default 200 ms backoff would cap a partition at ~5 transactions a second.
          retry: { initialRetryTime: 10, maxRetryTime: 1000, retries: 10 },
        });
        await producer.connect();
        // kafkajs initialises the transactional id lazily; an empty transaction does it now (this is the fence).
        const tx = await producer.transaction();
        await tx.abort();
        this.#log.debug({ topic, partition }, 'transactional producer ready');
        return producer;
      })();
      this.#producers.set(key, p);
      this.#open.add(p);
      const handle = p;
      handle.catch(() => {
        this.#open.delete(handle);
        if (this.#producers.get(key) === handle) this.#producers.delete(key);
      });
    }
    return p;
  }

  async #disconnect(handle: Promise<Producer>, key: string): Promise<void> {
    if (this.#producers.get(key) === handle) this.#producers.delete(key);
    this.#open.delete(handle);
    await handle.then((producer) => producer.disconnect()).catch(() => {});
  }

  /** Disconnects every producer, after the commits running now have ended. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#running.values()]);
      await Promise.allSettled([...this.#open].map((h) => h.then((producer) => producer.disconnect())));
      this.#open.clear();
      this.#producers.clear();
    })();
    return this.#closing;
  }
}
