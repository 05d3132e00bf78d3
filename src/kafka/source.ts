import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { InputRecord } from '../pipeline/record.js';
import { tpKey } from '../pipeline/record.js';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { FetchWatch } from './fetchWatch.js';

const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How much longer than its max wait a fetch may go unanswered before the input counts as stalled. */
const FETCH_STALL_GRACE_MS = 5000;
/** Longer than kafkajs' request timeout (30 s) plus a retry's backoff: a node not fetched from for this long is left out. */
const FETCH_FORGET_MS = 60_000;

/** Errors no retry can fix (credentials, permissions): the consumer is not restarted after them. */
function isPermanent(error: Error): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: unknown }).type;
    if (/SASL|Authentication/i.test(e.name) || (typeof type === 'string' && /AUTHORIZATION_FAILED|SASL_AUTHENTICATION_FAILED/.test(type))) return true;
  }
  return false;
}

/** One fetched kafkajs message as the pipeline takes it. */
export function toInputRecord(topic: string, partition: number, m: KafkaMessage): InputRecord {
  return { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers ?? {}, timestamp: m.timestamp };
}

export interface SourceOptions {
  kafka: Kafka;
  pipeline: Pipeline;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxBytesPerPartition: number;
  /** kafkajs sleeps this long when every partition is paused, so it bounds the stall after a resume. */
  fetchMaxWaitMs: number;
  fetchMinBytes: number;
  /** At-least-once: the shortest time between two offset commits (a crash repeats at most about this much work). */
  commitIntervalMs: number;
  logger: Logger;
  /** Called when the consumer crashed and will not restart by itself: the process should stop. */
  onFatal: (err: Error) => void;
  /**
   * Exactly-once: called once per newly assigned partition before its first records enter the pipeline. It fences
   * earlier owners and resolves to the partition's committed offset read after the fence (or null). Records below
   * it were committed by an earlier owner after kafkajs read the offset, and are passed over.
   */
  claimPartition?: (topic: string, partition: number) => Promise<string | null>;
  /** Called for each partition revoked in a rebalance. */
  releasePartition?: (topic: string, partition: number) => void;
  /**
   * Replay: the exclusive end offset of each partition; a partition without one has nothing to read. Records at or
   * past the end are never pushed, no position is committed past it, and a partition that reached it is paused.
   */
  endOffsets?: ReadonlyMap<number, string>;
  /** Metadata committed with each partition's offset (at-least-once commits; replay stores its plan there). */
  commitMetadata?: (topic: string, partition: number) => string | null;
}

export interface PartitionStatus {
  topic: string;
  partition: number;
  committedOffset: string | null;
  highWatermark: string | null;
  lag: number | null;
  inflight: number;
  paused: boolean;
}

/**
 * The consumer side: hands each fetched batch to the pipeline, advances kafkajs' fetch position at once
 * (so fetching overlaps scoring), and commits only what the pipeline's tracker reports acknowledged.
 * Pauses the input topic while the pipeline is over its in-flight bound.
 */
export class KafkaSource {
  readonly #o: SourceOptions;
  readonly #consumer: Consumer;
  readonly #admin: Admin;
  readonly #log: Logger;
  #assigned: { topic: string; partition: number }[] = [];
  #joined = false;
  #paused = false;
  #highWatermarks = new Map<string, string>();
  #startCommitted = new Map<string, string>();
  #commitRunning: Promise<void> | null = null;
  #commitAgain = false;
  #commitRetry: NodeJS.Timeout | null = null;
  #commitTimer: NodeJS.Timeout | null = null;
  /** kafkajs has a running consumer group (pause/resume would throw without one). */
  #consumerUp = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #restartDelayMs = FIRST_RESTART_DELAY_MS;
  #lastCommitAt = 0;
  #refresh: NodeJS.Timeout | null = null;
  #fetchStopped = false;
  #claims = new Map<string, Promise<string | null>>();
  /** Partitions paused because they reached their end offset (replay). */
  #ended = new Set<number>();
  #closing: Promise<void> | null = null;
  readonly #fetches: FetchWatch;

  constructor(options: SourceOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'source' });
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      minBytes: options.fetchMinBytes,
      allowAutoTopicCreation: false,
      retry: { retries: 10 },
    });
    this.#admin = options.kafka.admin();
    this.#fetches = new FetchWatch({ stallMs: options.fetchMaxWaitMs + FETCH_STALL_GRACE_MS, forgetMs: FETCH_FORGET_MS });
    const { events } = this.#consumer;
    this.#consumer.on(events.FETCH_START, (e) => this.#fetches.started(e.payload.nodeId));
    this.#consumer.on(events.FETCH, (e) => this.#fetches.completed(e.payload.nodeId));
    this.#consumer.on(events.GROUP_JOIN, (e) => {
      // A consumer kafkajs (re)started has a fresh pause state: apply ours.
      this.#consumerUp = true;
      this.#fetches.reset();
      this.#restartDelayMs = FIRST_RESTART_DELAY_MS;
      this.#applyPauses();
      this.#onJoin(e.payload.memberAssignment);
    });
    this.#consumer.on(events.REBALANCING, () => {
      this.#joined = false;
      this.#log.info('rebalancing');
    });
    this.#consumer.on(events.CRASH, (e) => {
      // kafkajs has disconnected the consumer; it starts it again itself only when `restart` is true.
      this.#joined = false;
      this.#consumerUp = false;
      const { error, restart } = e.payload;
      if (restart || this.#closing) {
        this.#log.error({ err: error, restart }, 'consumer crashed');
        return;
      }
      if (isPermanent(error)) {
        this.#log.error({ err: error, restart }, 'consumer crashed; cannot recover');
        this.#o.onFatal(error);
        return;
      }
      // E.g. no group coordinator while the broker is down: kafkajs gives up, we keep trying (not ready meanwhile).
      this.#log.error({ err: error, restartInMs: this.#scheduleRestart() }, 'consumer crashed; restarting it');
    });
    // Batches that hold only control records or aborted messages never reach eachBatch; their offsets
    // still have to become committable or the committed position would stall behind them.
    this.#consumer.on(events.START_BATCH_PROCESS, (e) => {
      const p = e.payload;
      this.#highWatermarks.set(tpKey(p.topic, p.partition), p.highWatermark);
      if (p.batchSize === 0) {
        this.#passOver(p.topic, p.partition, p.lastOffset);
        const end = this.#end(p.partition);
        if (end !== null && BigInt(p.lastOffset) >= end - 1n) this.#pauseAtEnd(p.partition);
      }
    });
  }

  /** Joined the group and holding an assignment (possibly empty). */
  get joined(): boolean {
    return this.#joined;
  }

  /**
   * Fetches are being answered: no broker node has left a fetch unanswered for longer than the fetch's max wait plus
   * a few seconds. A broker that goes away mid-stream shows here within seconds; kafkajs' own retries take longer to
   * give up on the group. (While every partition is paused, kafkajs asks the broker nothing, and this stays true.)
   */
  get fetching(): boolean {
    return this.#fetches.stalled().length === 0;
  }

  async start(): Promise<void> {
    try {
      await this.#admin.connect();
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: this.#o.fromBeginning });
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `cannot consume ${this.#o.topic}: ${messageOf(cause)}`, { cause });
    }
    await this.#run();
    this.#refresh = setInterval(() => void this.#refreshWatermarks(), 5000);
    this.#refresh.unref();
  }

  /** Resolves once joined, or once a failed join has been reported as a crash. */
  async #run(): Promise<void> {
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  /** Starts the consumer again after a crash kafkajs does not recover from (a failure is a crash again). */
  async #restart(): Promise<void> {
    this.#restartTimer = null;
    if (this.#closing) return;
    try {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: this.#o.fromBeginning });
      await this.#run();
    } catch (err) {
      await this.#consumer.disconnect().catch(() => {});
      if (!this.#closing) this.#log.warn({ err, restartInMs: this.#scheduleRestart() }, 'restarting the consumer failed; retrying');
    }
  }

  /** Restarts the consumer after the current backoff, which doubles (up to 30 s) until a join; returns the wait. */
  #scheduleRestart(): number {
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, delay * 2);
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
    return delay;
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale()) return;
    // Backpressure: batches of a fetch response that arrived before the pause are left unresolved, so kafkajs
    // fetches them again after the resume instead of them piling up in memory past MAX_INFLIGHT_RECORDS.
    if (this.#paused) return;
    const { topic, partition } = batch;
    const floor = await this.#claim(topic, partition);
    if (!isRunning() || isStale()) return;
    const end = this.#end(partition);
    let messages = floor === null ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) >= BigInt(floor));
    if (end !== null) messages = messages.filter((m) => BigInt(m.offset) < end);
    if (floor !== null && messages.length < batch.messages.length && BigInt(floor) > 0n) {
      this.#log.info({ topic, partition, floor }, 'skipping records an earlier owner committed');
      this.#passOver(topic, partition, (BigInt(floor) - 1n).toString());
    }
    this.#o.pipeline.push(messages.map((m) => toInputRecord(topic, partition, m)));
    const last = batch.lastOffset();
    // Aborted or control records after the last message: nothing to score, but the position moves past them.
    this.#passOver(topic, partition, last);
    this.#highWatermarks.set(tpKey(topic, partition), batch.highWatermark);
    if (end !== null && BigInt(last) >= end - 1n) this.#pauseAtEnd(partition);
    // Moves kafkajs' fetch position only: with autoCommit off, commits are ours alone.
    resolveOffset(last);
    await heartbeat();
  }

  /** Replay: the partition's exclusive end offset (0 when it has none: nothing to read); null without bounds. */
  #end(partition: number): bigint | null {
    const ends = this.#o.endOffsets;
    if (!ends) return null;
    return BigInt(ends.get(partition) ?? '0');
  }

  /** Offsets up to `offset` need no outcome; with bounds, never past the end (nothing at or past it is ours). */
  #passOver(topic: string, partition: number, offset: string): void {
    const end = topic === this.#o.topic ? this.#end(partition) : null;
    if (end === null || BigInt(offset) < end) this.#o.pipeline.passOver(topic, partition, offset);
    else if (end > 0n) this.#o.pipeline.passOver(topic, partition, (end - 1n).toString());
  }

  /** Stops fetching a partition that reached its end; backpressure resumes leave it paused. */
  #pauseAtEnd(partition: number): void {
    if (this.#ended.has(partition)) return;
    this.#ended.add(partition);
    this.#log.info({ topic: this.#o.topic, partition }, 'partition reached its end offset');
    // kafkajs: pausing single partitions clears a whole-topic pause, so while one is on it covers this partition.
    if (this.#consumerUp && !this.#paused && !this.#fetchStopped) this.#consumer.pause([{ topic: this.#o.topic, partitions: [partition] }]);
  }

  #claim(topic: string, partition: number): Promise<string | null> {
    if (!this.#o.claimPartition) return Promise.resolve(null);
    const key = tpKey(topic, partition);
    let claim = this.#claims.get(key);
    if (!claim) {
      claim = this.#o.claimPartition(topic, partition);
      this.#claims.set(key, claim);
      // A failed claim is retried with the next batch (kafkajs re-fetches: nothing was resolved).
      claim.catch((err: unknown) => {
        this.#log.warn({ err, topic, partition }, 'claiming partition failed');
        if (this.#claims.get(key) === claim) this.#claims.delete(key);
      });
    }
    return claim;
  }

  /** Pauses or resumes the input topic (backpressure from the pipeline). */
  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    this.#log.info({ inflight: this.#o.pipeline.inflight }, paused ? 'paused input (backpressure)' : 'resumed input');
    if (!this.#fetchStopped) this.#applyPauses();
  }

  /**
   * Stops fetching but stays in the group, so what is in flight can still be committed. (kafkajs' own
   * stop() leaves the group, after which commits are silently dropped.)
   */
  stopFetching(): void {
    if (this.#fetchStopped) return;
    this.#fetchStopped = true;
    if (this.#refresh) clearInterval(this.#refresh);
    this.#applyPauses();
  }

  /** Tells kafkajs what to fetch: nothing while paused or stopped, else all but the partitions that reached their end. */
  #applyPauses(): void {
    if (!this.#consumerUp) return; // applied when the consumer (re)joins
    const topics = [{ topic: this.#o.topic }];
    if (this.#paused || this.#fetchStopped) this.#consumer.pause(topics);
    else {
      this.#consumer.resume(topics);
      if (this.#ended.size > 0) this.#consumer.pause([{ topic: this.#o.topic, partitions: [...this.#ended] }]);
    }
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Commits what the pipeline has acknowledged. Coalesces: at most one commit in flight, and commits start at
   * most once per COMMIT_INTERVAL_MS (a request now and then asks for one at the end of the interval).
   */
  requestCommit(): void {
    if (this.#commitRunning) {
      this.#commitAgain = true;
      return;
    }
    if (this.#commitTimer || this.#closing) return;
    const wait = this.#lastCommitAt + this.#o.commitIntervalMs - Date.now();
    if (wait > 0) {
      this.#commitTimer = setTimeout(() => {
        this.#commitTimer = null;
        this.requestCommit();
      }, wait);
      return;
    }
    this.#lastCommitAt = Date.now();
    this.#commitRunning = this.#commit().finally(() => {
      this.#commitRunning = null;
      if (this.#commitAgain) {
        this.#commitAgain = false;
        this.requestCommit();
      }
    });
  }

  /** Waits for the running commit, then commits once more, now. Used on shutdown after the pipeline drained. */
  async flushCommits(): Promise<void> {
    if (this.#commitTimer) clearTimeout(this.#commitTimer);
    this.#commitTimer = null;
    if (this.#commitRunning) await this.#commitRunning;
    await this.#commit();
  }

  async #commit(): Promise<void> {
    const assigned = new Set(this.#assigned.map((a) => tpKey(a.topic, a.partition)));
    const positions = this.#o.pipeline.tracker.uncommitted().filter((p) => assigned.has(tpKey(p.topic, p.partition)));
    if (positions.length === 0) return;
    const metadata = this.#o.commitMetadata;
    try {
      await this.#consumer.commitOffsets(metadata ? positions.map((p) => ({ ...p, metadata: metadata(p.topic, p.partition) })) : positions);
      this.#o.pipeline.tracker.markCommitted(positions);
    } catch (err) {
      this.#log.warn({ err, positions }, 'commit failed; will retry');
      if (!this.#commitRetry && !this.#closing) {
        this.#commitRetry = setTimeout(() => {
          this.#commitRetry = null;
          this.requestCommit();
        }, 1000);
      }
    }
  }

  #onJoin(assignment: Record<string, number[]>): void {
    const next = Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
    const keep = new Set(next.map((a) => tpKey(a.topic, a.partition)));
    for (const a of this.#o.pipeline.tracker.partitions()) {
      // Revoked: outcomes still in flight are dropped and never committed by us; the new owner re-scores them.
      if (!keep.has(tpKey(a.topic, a.partition))) this.#o.pipeline.tracker.forget(a.topic, a.partition);
    }
    for (const a of this.#assigned) {
      const key = tpKey(a.topic, a.partition);
      if (!keep.has(key)) {
        this.#claims.delete(key);
        this.#o.releasePartition?.(a.topic, a.partition);
      }
    }
    this.#assigned = next;
    this.#joined = true;
    this.#log.info({ assignment: next.map((a) => a.partition) }, 'joined group');
    void this.#refreshWatermarks();
  }

  async #refreshWatermarks(): Promise<void> {
    try {
      const [ends, committed] = await Promise.all([
        this.#admin.fetchTopicOffsets(this.#o.topic),
        this.#admin.fetchOffsets({ groupId: this.#o.groupId, topics: [this.#o.topic] }),
      ]);
      for (const e of ends) this.#highWatermarks.set(tpKey(this.#o.topic, e.partition), e.high);
      for (const t of committed) {
        for (const p of t.partitions) if (p.offset !== '-1') this.#startCommitted.set(tpKey(t.topic, p.partition), p.offset);
      }
    } catch (err) {
      this.#log.debug({ err }, 'cannot refresh watermarks');
    }
  }

  status(): PartitionStatus[] {
    return this.#assigned.map(({ topic, partition }) => {
      const key = tpKey(topic, partition);
      const committedOffset = this.#o.pipeline.tracker.committedOffset(topic, partition) ?? this.#startCommitted.get(key) ?? null;
      const highWatermark = this.#highWatermarks.get(key) ?? null;
      const lag = highWatermark === null ? null : Math.max(0, Number(highWatermark) - Number(committedOffset ?? 0));
      return {
        topic,
        partition,
        committedOffset,
        highWatermark,
        lag,
        inflight: this.#o.pipeline.tracker.pendingCount(topic, partition),
        paused: this.#paused,
      };
    });
  }

  /** Leaves the group and disconnects (kafkajs waits for a running eachBatch). Call after the last commit. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.stopFetching();
      if (this.#commitRetry) clearTimeout(this.#commitRetry);
      if (this.#commitTimer) clearTimeout(this.#commitTimer);
      if (this.#restartTimer) clearTimeout(this.#restartTimer);
      this.#joined = false;
      await this.#consumer.disconnect();
      await this.#admin.disconnect();
    })();
    return this.#closing;
  }
}
