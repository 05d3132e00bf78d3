import type { Logger } from 'pino';
import type { Model } from '../model/model.js';
import type { InputDecoder } from '../codec/inputDecoder.js';
import type { PredictionEncoder } from '../codec/predictionEncoder.js';
import { ErrorCodes, RecordError, isStreamserveError, messageOf } from '../errors.js';
import { BatchPolicy } from './batcher.js';
import { featurize, type Features } from './featurize.js';
import { scoreRows } from './infer.js';
import { OffsetTracker } from './offsetTracker.js';
import { noopObserver, type PipelineObserver } from './observer.js';
import { deadLetterMessage, predictionFits, predictionMessage, type OutcomeTarget } from './outcome.js';
import type { InputRecord, OutboundMessage } from './record.js';
import type { PartitionCommit, Sink, TransactionalSink } from './sink.js';
import { tpKey } from './record.js';

export interface PipelineOptions {
  model: Model;
  decoder: InputDecoder;
  encoder: PredictionEncoder;
  /** At-least-once: outcomes are written here, and the source commits offsets once they are acknowledged. */
  sink?: Sink;
  /** Exactly-once: each input partition's outcomes and offset are committed together here. Give one of the two. */
  transactionalSink?: TransactionalSink;
  target: OutcomeTarget;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  /** Past this many records taken in but not yet acknowledged, the source is asked to pause. */
  maxInflightRecords: number;
  logger: Logger;
  observer?: PipelineObserver;
  inferRetries?: number;
  inferRetryBackoffMs?: number;
  sinkBackoffMs?: number;
  sinkMaxBackoffMs?: number;
  /** A write (send or transaction) unsettled this long counts as the sink not answering (`sinkHealthy` false). */
  sinkStallMs?: number;
  now?: () => number;
  /** Called with true when the source should pause fetching, false when it may resume. */
  onBackpressure?: (paused: boolean) => void;
  /** Called after outcomes are acknowledged: new offsets may be committable. */
  onAcknowledged?: () => void;
  /** Called when the sink's health changes (false while writes fail and are being retried). */
  onSinkHealth?: (healthy: boolean) => void;
}

const DEFAULT_SINK_STALL_MS = 5000;

interface Entry {
  record: InputRecord;
  features: Features | null;
  error: RecordError | null;
}

/**
 * The pure middle of streamserve: records in (one partition's fetch at a time, in offset order), outcomes
 * out through the sink, offsets marked done only after the sink acknowledged them.
 *
 * Decode and featurize happen as records arrive; valid and failed records queue together in the batcher so
 * every flush writes one partition's outcomes in input order. One model call runs at a time; while it runs
 * the next batch accumulates (a backlog fills whole batches), and when it ends whatever is queued is flushed
 * (a quiet stream pays no linger). Sends are chained so outcomes are written in flush order.
 */
export class Pipeline {
  readonly tracker = new OffsetTracker();
  readonly #o: PipelineOptions;
  readonly #observer: PipelineObserver;
  readonly #batcher: BatchPolicy<Entry>;
  readonly #log: Logger;
  #inflight = 0;
  #paused = false;
  #currentBatch: Promise<void> | null = null;
  #idleScheduled = false;
  #timer: NodeJS.Timeout | null = null;
  #sendChain: Promise<void> = Promise.resolve();
  /** The send waiting behind the running one; later flushes join it. */
  #queuedSend: { entries: Entry[]; messages: OutboundMessage[] } | null = null;
  #aborted = false;
  #sinkHealthy = true;
  /** Writes started and not yet settled, each with its start time: the oldest says whether the sink answers. */
  readonly #writing = new Set<{ since: number }>();
  #skipped = 0;

  constructor(options: PipelineOptions) {
    this.#o = options;
    if ((options.sink === undefined) === (options.transactionalSink === undefined)) {
      throw new Error('Pipeline needs exactly one of sink and transactionalSink');
    }
    this.#observer = options.observer ?? noopObserver;
    this.#log = options.logger;
    this.#batcher = new BatchPolicy<Entry>({
      maxBatchSize: options.maxBatchSize,
      maxBatchDelayMs: options.maxBatchDelayMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  /** Records taken in and not yet acknowledged. */
  get inflight(): number {
    return this.#inflight;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Outcomes are being written: the last write did not fail, and none has gone unanswered for `sinkStallMs` (kafkajs
   * retries a write to a broker that is away for tens of seconds before it fails).
   */
  get sinkHealthy(): boolean {
    if (!this.#sinkHealthy) return false;
    const stallMs = this.#o.sinkStallMs ?? DEFAULT_SINK_STALL_MS;
    const now = (this.#o.now ?? Date.now)();
    for (const w of this.#writing) if (now - w.since >= stallMs) return false;
    return true;
  }

  /** Runs one write, known to `sinkHealthy` while it is unsettled. */
  async #timed<T>(write: () => Promise<T>): Promise<T> {
    const token = { since: (this.#o.now ?? Date.now)() };
    this.#writing.add(token);
    try {
      return await write();
    } finally {
      this.#writing.delete(token);
    }
  }

  /** Records dropped because they were already in flight (re-fetched after a rebalance). */
  get skippedRefetches(): number {
    return this.#skipped;
  }

  /**
   * Takes one fetched batch of one partition, in offset order. Never throws for a bad record: decode and
   * validation failures become dead letters in the record's place.
   */
  push(records: readonly InputRecord[]): void {
    let taken = 0;
    for (const record of records) {
      if (!this.tracker.track(record.topic, record.partition, record.offset)) {
        this.#skipped++;
        continue;
      }
      this.#batcher.add(this.#prepare(record));
      taken++;
    }
    if (taken === 0) return;
    const first = records[0]!;
    this.#observer.recordsIn(first.topic, first.partition, taken);
    this.#inflight += taken;
    this.#observer.inflight(this.#inflight);
    if (!this.#paused && this.#inflight >= this.#o.maxInflightRecords) {
      this.#paused = true;
      this.#observer.backpressure(true);
      this.#o.onBackpressure?.(true);
    }
    this.#schedule();
  }

  /** Offsets up to `offset` that carry no record to score (control records, aborted transactions). */
  passOver(topic: string, partition: number, offset: string): void {
    if (!this.tracker.passOver(topic, partition, offset)) return;
    if (this.#o.transactionalSink) {
      // No outcome carries this offset forward, so an offsets-only transaction does (in order, after earlier work).
      const group = { topic, partition, entries: [], messages: [] };
      this.#queuedSend = null; // later flushes go after this commit
      this.#sendChain = this.#sendChain.then(() => this.#commitPartition(group)).then(() => undefined);
    } else this.#o.onAcknowledged?.();
  }

  /** Flushes everything queued and resolves when every outcome is acknowledged (or abort() gave up). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#currentBatch) {
        await this.#currentBatch;
        continue;
      }
      if (this.#batcher.size === 0) break;
      this.#startBatch();
    }
    await this.#sendChain;
  }

  /** Stops retrying failed sends (shutdown deadline): what is unacknowledged stays uncommitted. */
  abort(): void {
    this.#aborted = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #prepare(record: InputRecord): Entry {
    try {
      const decoded = this.#o.decoder.decode(record.value);
      return { record, features: featurize(this.#o.target.signature, decoded), error: null };
    } catch (err) {
      const error =
        err instanceof RecordError
          ? err
          : new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `cannot read record: ${messageOf(err)}`, { cause: err });
      return { record, features: null, error };
    }
  }

  #schedule(): void {
    if (this.#currentBatch) return; // the end of the running batch flushes what queued meanwhile
    if (this.#batcher.shouldFlush()) {
      this.#startBatch();
      return;
    }
    if (!this.#idleScheduled) {
      // No more input immediately available once the event loop turns: flush then, without lingering.
      this.#idleScheduled = true;
      setImmediate(() => {
        this.#idleScheduled = false;
        if (!this.#currentBatch && this.#batcher.size > 0) this.#startBatch();
      });
    }
    const wait = this.#batcher.msUntilDeadline();
    if (wait !== null && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#currentBatch && this.#batcher.size > 0) this.#startBatch();
      }, wait);
    }
  }

  #startBatch(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const entries = this.#batcher.take();
    this.#currentBatch = this.#score(entries)
      .then((messages) => this.#enqueueSend(entries, messages))
      .finally(() => {
        this.#currentBatch = null;
        if (this.#batcher.size > 0) this.#schedule();
      });
  }

  /** Builds each entry's outcome message, in entry order. Never rejects. */
  async #score(entries: Entry[]): Promise<OutboundMessage[]> {
    const valid = entries.filter((e) => e.features !== null);
    const results =
      valid.length === 0
        ? []
        : await scoreRows(
            this.#o.model,
            valid.map((e) => e.features!.row),
            {
              retries: this.#o.inferRetries ?? 2,
              retryBackoffMs: this.#o.inferRetryBackoffMs ?? 50,
              onModelCall: (rows, seconds) => this.#observer.batch(rows, seconds),
            },
          ).catch((err: unknown) => valid.map(() => new RecordError('infer', ErrorCodes.INFERENCE_FAILED, messageOf(err))));

    const now = (this.#o.now ?? Date.now)();
    const { target, encoder } = this.#o;
    const messages: OutboundMessage[] = new Array(entries.length);
    let v = 0;
    let predictions = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.features === null) {
        messages[i] = this.#deadLetter(entry.record, entry.error!);
        continue;
      }
      const result = results[v++]!;
      if (result instanceof RecordError) {
        messages[i] = this.#deadLetter(entry.record, result);
        continue;
      }
      try {
        const value = encoder.encode({ id: entry.features.id, eventTime: entry.features.eventTime, scoredAt: now, outputs: result });
        const message = predictionMessage(target, entry.record, value);
        if (!predictionFits(target, message)) {
          const limit = target.maxMessageBytes!.output;
          throw new RecordError('encode', ErrorCodes.OUTCOME_TOO_LARGE, `the prediction (${value.length} bytes) would exceed ${target.outputTopic}'s max.message.bytes (${limit})`);
        }
        messages[i] = message;
        predictions++;
      } catch (err) {
        const error = err instanceof RecordError ? err : new RecordError('encode', ErrorCodes.ENCODE_FAILED, messageOf(err));
        messages[i] = this.#deadLetter(entry.record, error);
      }
    }
    if (predictions > 0) this.#observer.prediction(predictions);
    return messages;
  }

  #deadLetter(record: InputRecord, error: RecordError): OutboundMessage {
    this.#observer.deadLetter(error.stage, error.code);
    this.#log.debug(
      { topic: record.topic, partition: record.partition, offset: record.offset, stage: error.stage, code: error.code },
      'dead letter',
    );
    return deadLetterMessage(this.#o.target, record, error);
  }

  /**
   * Queues one flush's outcomes behind the sends before it. While a send is running, later flushes join the one
   * send queued behind it, so a busy sink writes fewer, larger requests instead of falling behind one request
   * per flush; order is kept because flushes are appended in flush order.
   */
  #enqueueSend(entries: Entry[], messages: OutboundMessage[]): void {
    const queued = this.#queuedSend;
    if (queued) {
      for (let i = 0; i < entries.length; i++) {
        queued.entries.push(entries[i]!);
        queued.messages.push(messages[i]!);
      }
      return;
    }
    const next = { entries, messages };
    this.#queuedSend = next;
    this.#sendChain = this.#sendChain.then(async () => {
      if (this.#queuedSend === next) this.#queuedSend = null;
      await this.#write(next.entries, next.messages);
    });
  }

  /** Writes one send's outcomes (dropping those of revoked partitions) and releases them from the in-flight count. */
  async #write(entries: Entry[], messages: OutboundMessage[]): Promise<void> {
    // Outcomes of partitions revoked meanwhile are dropped unwritten: the new owner scores them again from the
    // committed offset, so writing them here would only duplicate them.
    let live = entries;
    let liveMessages = messages;
    if (!entries.every((e) => this.tracker.has(e.record.topic, e.record.partition))) {
      live = [];
      liveMessages = [];
      for (let i = 0; i < entries.length; i++) {
        const r = entries[i]!.record;
        if (!this.tracker.has(r.topic, r.partition)) continue;
        live.push(entries[i]!);
        liveMessages.push(messages[i]!);
      }
    }
    const written = this.#o.transactionalSink
      ? await this.#commitTransactions(live, liveMessages)
      : (await this.#sendUntilAcknowledged(liveMessages))
        ? this.#markDone(live)
        : [];
    const now = (this.#o.now ?? Date.now)();
    for (const e of written) this.#observer.latency(Math.max(0, now - Number(e.record.timestamp)) / 1000);
    this.#release(entries.length);
    if (written.length > 0 && !this.#o.transactionalSink) this.#o.onAcknowledged?.();
  }

  #markDone(entries: Entry[]): Entry[] {
    for (const e of entries) this.tracker.done(e.record.topic, e.record.partition, e.record.offset);
    return entries;
  }

  /** Records leave the in-flight count (written, dropped or given up); resumes the source below half the bound. */
  #release(count: number): void {
    this.#inflight -= count;
    this.#observer.inflight(this.#inflight);
    if (this.#paused && this.#inflight <= this.#o.maxInflightRecords / 2) {
      this.#paused = false;
      this.#observer.backpressure(false);
      this.#o.onBackpressure?.(false);
    }
  }

  /** Exactly-once: one transaction per input partition in the flush, partitions in parallel. Returns what was written. */
  async #commitTransactions(entries: Entry[], messages: OutboundMessage[]): Promise<Entry[]> {
    const groups = new Map<string, { topic: string; partition: number; entries: Entry[]; messages: OutboundMessage[] }>();
    for (let i = 0; i < entries.length; i++) {
      const { topic, partition } = entries[i]!.record;
      const key = tpKey(topic, partition);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { topic, partition, entries: [], messages: [] }));
      g.entries.push(entries[i]!);
      g.messages.push(messages[i]!);
    }
    const results = await Promise.all([...groups.values()].map(async (g) => ((await this.#commitPartition(g)) ? g.entries : [])));
    return results.flat();
  }

  /**
   * Commits one partition's outcomes with its offset, retrying until committed, the partition is revoked or
   * fenced (dropped: the new owner redoes them), or abort(). Returns whether the transaction committed.
   */
  async #commitPartition(g: { topic: string; partition: number; entries: Entry[]; messages: OutboundMessage[] }): Promise<boolean> {
    const { topic, partition } = g;
    const nextOffset = this.tracker.committableWith(topic, partition, g.entries.map((e) => e.record.offset));
    if (nextOffset === null || nextOffset === this.tracker.committedOffset(topic, partition)) return g.entries.length === 0;
    const commit: PartitionCommit = { source: { topic, partition }, messages: g.messages, nextOffset };
    let backoff = this.#o.sinkBackoffMs ?? 100;
    for (;;) {
      if (this.#aborted || !this.tracker.has(topic, partition)) return false;
      try {
        await this.#timed(() => this.#o.transactionalSink!.commit(commit));
        this.#markDone(g.entries);
        this.tracker.markCommitted([{ topic, partition, offset: nextOffset }]);
        this.#setSinkHealth(true);
        return true;
      } catch (err) {
        if (isStreamserveError(err) && err.code === ErrorCodes.PRODUCER_FENCED) {
          this.#log.warn({ err, topic, partition }, 'fenced by a newer owner of the partition; dropping its in-flight outcomes');
          this.tracker.forget(topic, partition);
          return false;
        }
        this.#observer.sinkError(true);
        this.#setSinkHealth(false);
        this.#log.warn({ err, topic, partition, messages: g.messages.length, retryInMs: backoff }, 'transaction failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(this.#o.sinkMaxBackoffMs ?? 5000, backoff * 2);
      }
    }
  }

  /** Retries until the broker acknowledges, or abort(). Returns whether the messages were acknowledged. */
  async #sendUntilAcknowledged(messages: OutboundMessage[]): Promise<boolean> {
    let backoff = this.#o.sinkBackoffMs ?? 100;
    const maxBackoff = this.#o.sinkMaxBackoffMs ?? 5000;
    for (;;) {
      if (this.#aborted) return false;
      try {
        if (messages.length > 0) await this.#timed(() => this.#o.sink!.send(messages));
        this.#setSinkHealth(true);
        return true;
      } catch (err) {
        const retryable = !isStreamserveError(err) || err.retryable;
        this.#observer.sinkError(retryable);
        this.#setSinkHealth(false);
        this.#log.warn({ err, messages: messages.length, retryInMs: backoff }, 'writing outcomes failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(maxBackoff, backoff * 2);
      }
    }
  }

  #setSinkHealth(healthy: boolean): void {
    if (healthy === this.#sinkHealthy) return;
    this.#sinkHealthy = healthy;
    this.#o.onSinkHealth?.(healthy);
  }
}
