import type { KafkaClient } from './client.js';
import type { Logger } from 'pino';
import type { InputDecoder } from '../codec/inputDecoder.js';
import type { PredictionEncoder } from '../codec/predictionEncoder.js';
import type { Scorer } from '../scorer/scorer.js';
import type { Outcome } from '../scorer/outcome.js';
import { noopObserver, type Observer } from '../observer.js';
import type { InputBounds } from './bounds.js';
import { CommitScheduler } from './commits.js';
import { decodeAll, decodedOrNot } from './decodeAll.js';
import { GroupConsumer, type ConsumerSettings, type GroupConsumerOptions } from './consumer.js';
import type { BatchHandler, FetchedBatch, InputConsumer, TopicPartition } from './inputConsumer.js';
import { GroupOffsets } from './groupOffsets.js';
import { PartitionClaims } from './claims.js';
import { FenceRecovery } from './fenceRecovery.js';
import { Intake } from './intake.js';
import { LagWatch, type PartitionStatus } from './lag.js';
import { OffsetTracker } from './offsetTracker.js';
import { outcomeMessages, type OutcomeTarget } from './outcomes.js';
import type { KafkaOutput, OutputContext } from './output.js';
import { toInputRecord, tpKey, type InputRecord, type OutboundMessage } from './records.js';
import { WriteQueue } from './writeQueue.js';

/** How long a partition lost to a fence waits for the rebalance that would revoke it before the consumer rejoins. */
const REJOIN_AFTER_FENCE_MS = 3000;

export interface KafkaInputOptions {
  kafka: KafkaClient;
  consumer: ConsumerSettings;
  scorer: Scorer;
  decoder: InputDecoder;
  encoder: PredictionEncoder;
  target: OutcomeTarget;
  /** Builds the output of the delivery guarantee (atLeastOnce.ts, exactlyOnce.ts) around this input's offsets. */
  output: (context: OutputContext) => KafkaOutput;
  /** At-least-once: the shortest time between two offset commits. */
  commitIntervalMs: number;
  /** Past this many records taken in and not yet written, fetching pauses (resumes at half); see intake.ts. */
  maxInflightRecords: number;
  interactiveInflightRecords?: number;
  bounds?: InputBounds;
  /** Seams for tests and the benchmark (they hand in batches themselves); a GroupConsumer and GroupOffsets by default. */
  createConsumer?: (options: GroupConsumerOptions) => InputConsumer;
  offsets?: Pick<GroupOffsets, 'committed' | 'ends' | 'close'>;
  logger: Logger;
  observer?: Observer;
  /**
   * Called once when the input failed for good (src/kafka/errors.ts: a consumer crash, a write or a commit refused
   * for authorization, a deleted topic; a Schema Registry refusing a lookup, decodeAll.ts): the owner should stop
   * it, which commits only what was written.
   */
  onFatal: (err: Error) => void;
  now?: () => number;
  /** How long a partition lost to a fence waits for a rebalance before the consumer rejoins (default 3 s). */
  rejoinAfterFenceMs?: number;
}

/**
 * The Kafka input: reads a topic in a consumer group, decodes each record, has the scorer score it, turns each
 * outcome into a prediction or a dead letter, hands them to its output, and commits an offset only once the output
 * has written the outcome of it and of every offset below it. Offsets live here and nowhere else (offsetTracker.ts);
 * kafkajs' fetch position moves at once, so fetching overlaps scoring, bounded by `maxInflightRecords`.
 */
export class KafkaInput {
  readonly #o: KafkaInputOptions;
  readonly #log: Logger;
  readonly #observer: Observer;
  readonly #now: () => number;
  readonly #tracker = new OffsetTracker();
  readonly #consumer: InputConsumer;
  readonly #output: KafkaOutput;
  readonly #commits: CommitScheduler | null;
  readonly #writes: WriteQueue;
  readonly #offsets: Pick<GroupOffsets, 'committed' | 'ends' | 'close'>;
  readonly #lag: LagWatch;
  readonly #handler: BatchHandler;
  readonly #claims: PartitionClaims;
  readonly #intake: Intake;
  /** Reports a fatal failure once (the owner stops the input). */
  readonly #fatal: (err: Error) => void;
  #assigned: TopicPartition[] = [];
  readonly #fences: FenceRecovery;
  #closing: Record<string, Promise<void>> | null = null;

  constructor(options: KafkaInputOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'kafka-input' });
    this.#observer = options.observer ?? noopObserver;
    this.#now = options.now ?? Date.now;
    const metadata = options.bounds ? (t: string, p: number) => options.bounds!.commitMetadata(t, p) : () => null;
    // Whatever part fails for good (output, consumer, commits) reports once; the process then stops.
    let failed = false;
    const onFatal = (err: Error) => {
      if (failed) return;
      failed = true;
      options.onFatal(err);
    };
    this.#fatal = onFatal;
    this.#output = options.output({ tracker: this.#tracker, commitMetadata: metadata, onFatal, onLost: (t, p) => this.#fences.lost(t, p) });
    const consumerOptions: GroupConsumerOptions = {
      ...options.consumer,
      kafka: options.kafka,
      logger: this.#log,
      onAssigned: (assignment) => this.#assign(assignment),
      onFatal,
    };
    this.#consumer = options.createConsumer ? options.createConsumer(consumerOptions) : new GroupConsumer(consumerOptions);
    this.#claims = new PartitionClaims((t, p) => this.#output.claim(t, p), this.#log);
    this.#fences = new FenceRecovery({
      delayMs: options.rejoinAfterFenceMs ?? REJOIN_AFTER_FENCE_MS,
      stranded: (t, p) => this.#tracker.isLost(t, p) && this.#assigned.some((a) => a.topic === t && a.partition === p),
      rejoin: () => this.#consumer.rejoin(),
      logger: this.#log,
    });
    this.#commits = this.#output.commitsOffsets
      ? null
      : new CommitScheduler({
          intervalMs: options.commitIntervalMs,
          uncommitted: () => {
            const owned = new Set(this.#assigned.map((a) => tpKey(a.topic, a.partition)));
            return this.#tracker.uncommitted().filter((p) => owned.has(tpKey(p.topic, p.partition)));
          },
          commit: (positions) => this.#consumer.commit(options.bounds ? positions.map((p) => ({ ...p, metadata: metadata(p.topic, p.partition) })) : positions),
          committed: (positions) => this.#tracker.markCommitted(positions),
          onFatal,
          logger: this.#log,
        });
    this.#writes = new WriteQueue((records, messages) => this.#write(records, messages), this.#log);
    this.#offsets = options.offsets ?? new GroupOffsets(options.kafka, options.consumer.groupId);
    this.#lag = new LagWatch({ topic: options.consumer.topic, offsets: this.#offsets, tracker: this.#tracker, logger: this.#log });
    const own: BatchHandler = { batch: (batch) => this.#take(batch), empty: (tp, last, high) => this.#empty(tp, last, high) };
    this.#handler = options.bounds ? options.bounds.batches(own, (p) => this.#stopPartition(p)) : own;
    this.#intake = new Intake({
      consumer: this.#consumer,
      scorer: options.scorer,
      maxInflightRecords: options.maxInflightRecords,
      ...(options.interactiveInflightRecords === undefined ? {} : { interactiveInflightRecords: options.interactiveInflightRecords }),
      observer: this.#observer,
      logger: this.#log,
      ...(options.decoder.health ? { dependencies: [options.decoder.health] } : {}),
    });
  }

  /** Records taken in and not yet written. */
  get inflight(): number {
    return this.#intake.inflight;
  }

  get paused(): boolean {
    return this.#consumer.paused;
  }

  /** Readiness checks of this input, by name (each false names what is wrong on /readyz). */
  checks(): Record<string, boolean> {
    return {
      groupJoined: this.#consumer.joined,
      inputFetching: this.#consumer.fetching,
      producerConnected: this.#output.connected,
      outputWritable: this.#output.writable,
      ...(this.#o.decoder.health ? { [this.#o.decoder.health.name]: this.#o.decoder.health.healthy } : {}),
    };
  }

  status(): PartitionStatus[] {
    return this.#lag.status(this.#assigned, this.#consumer.paused);
  }

  /** Connects the output, then joins the group and starts fetching. */
  async start(): Promise<void> {
    await this.#output.start();
    await this.#consumer.start(this.#handler);
    this.#lag.start();
  }

  /** Stops fetching but stays in the group, so what is in flight can still be written and committed. */
  stopFetching(): void {
    this.#fences.stop();
    this.#consumer.stopFetching();
    this.#lag.stop();
  }

  /** Resolves when every record taken in has its outcome written and its offset committed. Call after stopFetching(). */
  async drain(): Promise<void> {
    await this.#o.scorer.drain();
    await this.#writes.drain();
    await this.#commits?.flush();
  }

  /** Stops retrying writes (shutdown deadline): what is unwritten stays uncommitted and is read again. */
  abort(): void {
    this.#output.abort();
    this.#commits?.close();
  }

  /** Starts closing every client (after drain()); each one's close by name, for the caller's deadline. Idempotent. */
  close(): Record<string, Promise<void>> {
    this.#closing ??= (() => {
      this.stopFetching();
      this.#commits?.close();
      return {
        'Kafka consumer': this.#consumer.close(),
        'Kafka output': this.#output.close(),
        'Kafka admin': this.#offsets.close(),
      };
    })();
    return this.#closing;
  }

  async #take(batch: FetchedBatch): Promise<boolean> {
    const { topic, partition } = batch;
    const floor = await this.#claims.claim(topic, partition);
    if (!batch.current()) return false;
    let messages = batch.messages;
    if (floor !== null) {
      const from = BigInt(floor);
      messages = messages.filter((m) => BigInt(m.offset) >= from);
      if (messages.length < batch.messages.length && from > 0n) {
        this.#log.info({ topic, partition, floor }, 'skipping records an earlier owner committed');
        this.#passOver(topic, partition, (from - 1n).toString());
      }
    }
    let records = messages.map((m) => toInputRecord(topic, partition, m));
    const decoded = decodeAll(this.#o.decoder, records);
    let inputs = Array.isArray(decoded) ? decoded : await decodedOrNot(this.#o.decoder, decoded, records, this.#log, this.#fatal);
    if (inputs === null || !batch.current()) return false;

    // Records still in flight from before a rebalance are fetched again: they already have an outcome coming.
    const refetched = this.#tracker.trackAll(records);
    if (refetched) {
      records = records.filter((_, i) => !refetched[i]);
      inputs = inputs.filter((_, i) => !refetched[i]);
    }
    const taken = records.length;
    if (taken > 0) {
      this.#observer.recordsIn(topic, partition, taken);
      this.#intake.hold(taken);
      const owned = records;
      this.#o.scorer.submit({ inputs, done: (outcomes) => this.#scored(owned, outcomes) });
    }
    // Aborted or control records after the last message: nothing to score, but the position moves past them.
    if (batch.lastOffset !== null) this.#passOver(topic, partition, batch.lastOffset);
    this.#lag.seen(partition, batch.highWatermark);
    return true;
  }

  #scored(records: InputRecord[], outcomes: Outcome[]): void {
    const messages = outcomeMessages(this.#o.target, this.#o.encoder, records, outcomes, { now: this.#now(), observer: this.#observer, logger: this.#log });
    this.#writes.push(records, messages);
  }

  /** One write of the queue: outcomes of partitions revoked meanwhile are dropped (the new owner scores them again). */
  async #write(records: InputRecord[], messages: OutboundMessage[]): Promise<void> {
    let live: readonly InputRecord[] = records;
    let liveMessages: readonly OutboundMessage[] = messages;
    if (!records.every((r) => this.#tracker.has(r.topic, r.partition))) {
      const keep = records.map((r) => this.#tracker.has(r.topic, r.partition));
      live = records.filter((_, i) => keep[i]);
      liveMessages = messages.filter((_, i) => keep[i]);
    }
    const written = await this.#output.write(live, liveMessages);
    const now = this.#now();
    for (const r of written) this.#observer.latency(Math.max(0, now - Number(r.timestamp)) / 1000);
    this.#intake.release(records.length);
    if (written.length > 0) this.#commits?.request();
  }

  #empty({ topic, partition }: TopicPartition, lastOffset: string, highWatermark: string): void {
    this.#lag.seen(partition, highWatermark);
    this.#passOver(topic, partition, lastOffset);
  }

  /** Offsets up to `offset` need no outcome (control records, aborted transactions, what an earlier owner wrote). */
  #passOver(topic: string, partition: number, offset: string): void {
    if (!this.#tracker.passOver(topic, partition, offset)) return;
    const step = this.#output.passedOver(topic, partition);
    if (step) this.#writes.barrier(step);
    else this.#commits?.request();
  }

  #stopPartition(partition: number): void {
    this.#log.info({ topic: this.#o.consumer.topic, partition }, 'partition reached its end offset');
    this.#consumer.pauseForGood(partition);
  }

  #assign(assignment: TopicPartition[]): void {
    const keep = new Set(assignment.map((a) => tpKey(a.topic, a.partition)));
    // A lost partition assigned again is claimed again: fenced anew, its committed offset re-read.
    for (const a of assignment) if (this.#tracker.isLost(a.topic, a.partition)) this.#claims.forget(a.topic, a.partition);
    for (const a of this.#tracker.partitions()) {
      // Revoked: outcomes still in flight are dropped and never committed by us; the new owner scores them again.
      if (!keep.has(tpKey(a.topic, a.partition))) this.#tracker.forget(a.topic, a.partition);
    }
    for (const a of this.#assigned) {
      const key = tpKey(a.topic, a.partition);
      if (!keep.has(key)) {
        this.#claims.forget(a.topic, a.partition);
        this.#output.release(a.topic, a.partition);
      }
    }
    this.#tracker.assigned(assignment);
    this.#assigned = assignment;
    void this.#lag.refresh();
  }
}
