import type { Logger } from 'pino';
import { ErrorCodes, StreamserveError, isStreamserveError } from '../errors.js';
import { noopObserver, type Observer } from '../observer.js';
import type { KafkaOutput, OutputContext, TransactionalSink } from './output.js';
import { tpKey, type InputRecord, type OutboundMessage } from './records.js';
import type { GroupOffsets } from './groupOffsets.js';
import { WriteHealth, type WriteHealthOptions } from './writeHealth.js';
import { isFatal } from './errors.js';

/** The transactional producers behind the output: src/kafka/transactionalSink.ts, or a stub in unit tests. */
export interface TransactionalProducers extends TransactionalSink {
  readonly connected: boolean;
  /** Takes ownership of the partition's transactional id, aborting what an earlier owner left open. */
  fence(topic: string, partition: number): Promise<void>;
  release(topic: string, partition: number): Promise<void>;
  close(): Promise<void>;
}

export interface ExactlyOnceOutputOptions extends OutputContext {
  producers: TransactionalProducers;
  /** The group's committed offsets, read from the broker (after fencing, a partition's can no longer move). Closed with the output. */
  offsets: Pick<GroupOffsets, 'committed' | 'close'>;
  logger: Logger;
  observer?: Observer;
  health?: Omit<WriteHealthOptions, 'logger'>;
}

interface PartitionGroup {
  topic: string;
  partition: number;
  records: InputRecord[];
  messages: OutboundMessage[];
}

/**
 * Exactly-once, in one place: each input partition's outcomes and its next offset are committed in one Kafka
 * transaction, by a transactional producer of that partition's own, so whoever owns a partition fences every earlier
 * owner (a zombie after a rebalance, or this instance before a restart). A newly assigned partition is claimed
 * before its first records are taken: fence, then re-read the committed offset, and pass over what is below it.
 */
export class ExactlyOnceOutput implements KafkaOutput {
  readonly commitsOffsets = true;
  readonly #o: ExactlyOnceOutputOptions;
  readonly #health: WriteHealth;
  readonly #observer: Observer;
  #closing: Promise<void> | null = null;

  constructor(options: ExactlyOnceOutputOptions) {
    this.#o = options;
    this.#observer = options.observer ?? noopObserver;
    this.#health = new WriteHealth({ ...options.health, logger: options.logger });
  }

  get connected(): boolean {
    return this.#o.producers.connected && this.#closing === null;
  }

  get writable(): boolean {
    return this.#health.writable;
  }

  async start(): Promise<void> {}

  /** One transaction per input partition of the send, partitions in parallel. */
  async write(records: readonly InputRecord[], messages: readonly OutboundMessage[]): Promise<readonly InputRecord[]> {
    const groups = new Map<string, PartitionGroup>();
    for (let i = 0; i < records.length; i++) {
      const { topic, partition } = records[i]!;
      const key = tpKey(topic, partition);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { topic, partition, records: [], messages: [] }));
      g.records.push(records[i]!);
      g.messages.push(messages[i]!);
    }
    const results = await Promise.all([...groups.values()].map(async (g) => ((await this.#commit(g)) ? g.records : [])));
    return results.flat();
  }

  /** No outcome carries passed-over offsets forward, so an offsets-only transaction does (in order, after earlier work). */
  passedOver(topic: string, partition: number): () => Promise<void> {
    return () => this.#commit({ topic, partition, records: [], messages: [] }).then(() => undefined);
  }

  async claim(topic: string, partition: number): Promise<string | null> {
    if (this.#health.fatal) throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `not claiming ${topic}:${partition}: the output failed for good`);
    try {
      await this.#o.producers.fence(topic, partition);
    } catch (err) {
      if (isFatal(err)) {
        this.#health.fail();
        this.#o.onFatal(err);
      }
      throw err;
    }
    const committed = (await this.#o.offsets.committed(topic)).get(partition) ?? null;
    this.#o.logger.debug({ topic, partition, committed }, 'claimed partition');
    return committed;
  }

  release(topic: string, partition: number): void {
    void this.#o.producers.release(topic, partition);
  }

  abort(): void {
    this.#health.abort();
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#o.producers.close(), this.#o.offsets.close()]).then(() => undefined);
    return this.#closing;
  }

  /**
   * Commits one partition's outcomes with its offset, retrying until committed, the partition is revoked or fenced
   * (dropped: the new owner redoes them), or abort(). Returns whether the transaction committed.
   */
  async #commit(g: PartitionGroup): Promise<boolean> {
    const { topic, partition } = g;
    const { tracker } = this.#o;
    const nextOffset = tracker.committableWith(topic, partition, g.records.map((r) => r.offset));
    if (nextOffset === null || nextOffset === tracker.committedOffset(topic, partition)) return g.records.length === 0;
    const commit = { source: { topic, partition }, messages: g.messages, nextOffset };
    // What the group had committed when these outcomes were taken on: the transaction carries them from here.
    const from = tracker.committedOffset(topic, partition) ?? g.records[0]?.offset ?? null;
    let failedBefore = false;
    const attempt = async (): Promise<void> => {
      // A failed attempt may still have committed (the broker wrote the commit, its answer was lost): find out
      // before writing the outcomes again.
      if (failedBefore && (await this.#committedSince(topic, partition, from, nextOffset))) return;
      failedBefore = true;
      await this.#o.producers.commit(commit);
    };
    const committed = await this.#health.untilWritten(
      attempt,
      (err, retryInMs) => {
        if (isStreamserveError(err) && err.code === ErrorCodes.PRODUCER_FENCED) {
          this.#o.logger.warn({ err, topic, partition }, 'fenced; dropping the partition\'s in-flight outcomes');
          tracker.lose(topic, partition);
          this.#o.onLost(topic, partition);
          return 'drop';
        }
        if (isFatal(err)) {
          // Logged once, where the process stops on it; the transaction was aborted, its offset stays uncommitted.
          this.#observer.sinkError(false);
          this.#o.logger.warn({ code: err.code, topic, partition, messages: g.messages.length }, 'transaction failed for good; not retrying');
          this.#o.onFatal(err);
          return 'fatal';
        }
        this.#observer.sinkError(true);
        this.#o.logger.warn({ err, topic, partition, messages: g.messages.length, retryInMs }, 'transaction failed; retrying');
        return 'retry';
      },
      () => !tracker.has(topic, partition),
    );
    if (!committed) return false;
    for (const r of g.records) tracker.done(topic, partition, r.offset);
    tracker.markCommitted([{ topic, partition, offset: nextOffset }]);
    return true;
  }

  /**
   * Whether the transaction of a failed attempt committed after all. Fencing the partition's transactional id again
   * makes the broker finish whatever that transaction left: a commit it had recorded completes, anything else is
   * aborted. Once fenced the committed offset cannot move under us, and it says which: at or past the attempt's
   * next offset, its outcomes are written. (The Java client instead retries EndTxn on the same producer until it is
   * answered; kafkajs does not retry EndTxn, and the sink drops a producer whose transaction failed.)
   */
  async #committedSince(topic: string, partition: number, from: string | null, nextOffset: string): Promise<boolean> {
    await this.#o.producers.fence(topic, partition);
    const committed = (await this.#o.offsets.committed(topic)).get(partition);
    if (committed !== undefined && BigInt(committed) >= BigInt(nextOffset)) {
      this.#o.logger.info({ topic, partition, committed, nextOffset }, 'the failed transaction had committed; not writing its outcomes again');
      return true;
    }
    // Committed past where this transaction began, but short of its end: another owner took the partition over
    // (this instance is a zombie that has not seen the rebalance yet) and wrote some of these outcomes. Writing them
    // again would repeat those; the fence just now took the partition from that owner, who gets it back (a fence
    // without a rebalance makes it rejoin, src/kafka/input.ts).
    if (committed !== undefined && from !== null && BigInt(committed) > BigInt(from)) {
      throw new StreamserveError(ErrorCodes.PRODUCER_FENCED, `${topic}:${partition} was committed to ${committed} by another owner while this transaction (from ${from}) was retried`);
    }
    return false;
  }
}
