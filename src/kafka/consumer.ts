import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { brokerUnavailable } from './client.js';
import { ErrorCodes } from '../errors.js';
import { classifyKafkaError, isFatal, kafkaFailure, type KafkaCall } from './errors.js';
import { FetchWatch } from './fetchWatch.js';
import type { CommitPosition } from './offsetTracker.js';
import type { BatchHandler, InputConsumer, TopicPartition } from './inputConsumer.js';

const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How much longer than its max wait a fetch may go unanswered before the input counts as stalled. */
const FETCH_STALL_GRACE_MS = 5000;
/** Longer than kafkajs' request timeout (30 s) plus a retry's backoff: a node not fetched from for this long is left out. */
const FETCH_FORGET_MS = 60_000;

export interface GroupConsumerOptions {
  kafka: Kafka;
  topic: string;
  groupId: string;
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  maxBytesPerPartition: number;
  /** kafkajs sleeps this long when every partition is paused, so it bounds the stall after a resume. */
  fetchMaxWaitMs: number;
  fetchMinBytes: number;
  logger: Logger;
  /** Called on every join with the whole new assignment. */
  onAssigned: (assignment: TopicPartition[]) => void;
  /** Called when the consumer failed for good (src/kafka/errors.ts: an ACL, credentials): the process should stop. */
  onFatal: (err: Error) => void;
}

/** The consumer's settings, as the configuration gives them. */
export type ConsumerSettings = Omit<GroupConsumerOptions, 'kafka' | 'logger' | 'onAssigned' | 'onFatal'>;

/**
 * The kafkajs consumer of one topic in a group: connects, joins, restarts after crashes kafkajs gives up on, keeps
 * the pause state across restarts, and says whether fetches are answered. It commits only what it is told to, and
 * knows nothing of what the records mean: each fetched batch goes to the handler.
 */
export class GroupConsumer implements InputConsumer {
  readonly #o: GroupConsumerOptions;
  readonly #consumer: Consumer;
  readonly #log: Logger;
  readonly #fetches: FetchWatch;
  #handler: BatchHandler | null = null;
  #joined = false;
  #paused = false;
  #stopped = false;
  /** Partitions paused for good (a bounded input reached their end); backpressure resumes leave them paused. */
  readonly #ended = new Set<number>();
  /** kafkajs has a running consumer group (pause/resume would throw without one). */
  #up = false;
  #restartTimer: NodeJS.Timeout | null = null;
  #restartDelayMs = FIRST_RESTART_DELAY_MS;
  #closing: Promise<void> | null = null;
  #rejoining: Promise<void> | null = null;

  constructor(options: GroupConsumerOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxWaitTimeInMs: options.fetchMaxWaitMs,
      minBytes: options.fetchMinBytes,
      allowAutoTopicCreation: false,
      // kafkajs restarts itself after what it counts as retriable, which includes its retries running out on an
      // authorization error: a fatal error (src/kafka/errors.ts) is ours to report instead.
      retry: { retries: 10, restartOnFailure: (err) => Promise.resolve(!this.#closing && classifyKafkaError(err).kind !== 'fatal') },
    });
    this.#fetches = new FetchWatch({ stallMs: options.fetchMaxWaitMs + FETCH_STALL_GRACE_MS, forgetMs: FETCH_FORGET_MS });
    const { events } = this.#consumer;
    this.#consumer.on(events.FETCH_START, (e) => this.#fetches.started(e.payload.nodeId));
    this.#consumer.on(events.FETCH, (e) => this.#fetches.completed(e.payload.nodeId));
    this.#consumer.on(events.GROUP_JOIN, (e) => {
      // A consumer kafkajs (re)started has a fresh pause state: apply ours.
      this.#up = true;
      this.#fetches.reset();
      this.#restartDelayMs = FIRST_RESTART_DELAY_MS;
      this.#applyPauses();
      const assignment = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
      this.#joined = true;
      this.#log.info({ assignment: assignment.map((a) => a.partition) }, 'joined group');
      this.#o.onAssigned(assignment);
    });
    this.#consumer.on(events.REBALANCING, () => {
      this.#joined = false;
      this.#log.info('rebalancing');
    });
    this.#consumer.on(events.CRASH, (e) => this.#crashed(e.payload.error, e.payload.restart));
    // Batches that hold only control records or aborted messages never reach eachBatch; their offsets still have to
    // become committable, or the committed position would stall behind them.
    this.#consumer.on(events.START_BATCH_PROCESS, (e) => {
      const p = e.payload;
      if (p.batchSize === 0) this.#handler?.empty({ topic: p.topic, partition: p.partition }, p.lastOffset, p.highWatermark);
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

  get paused(): boolean {
    return this.#paused;
  }

  /** Joins the group and starts handing fetched batches to `handler`. */
  async start(handler: BatchHandler): Promise<void> {
    this.#handler = handler;
    try {
      await this.#consumer.connect();
      await this.#consumer.subscribe({ topics: [this.#o.topic], fromBeginning: this.#o.fromBeginning });
    } catch (cause) {
      throw brokerUnavailable(`cannot consume ${this.#o.topic}`, cause, this.#call);
    }
    await this.#run();
  }

  /** What this consumer uses: reads the topic as a member of the group. */
  get #call(): KafkaCall {
    return { operation: 'read', topics: [this.#o.topic], group: this.#o.groupId };
  }

  /**
   * Commits positions as this group member (at-least-once). Rejects when the commit failed: COMMIT_FAILED (retryable)
   * or a fatal error (src/kafka/errors.ts).
   */
  async commit(positions: readonly (CommitPosition & { metadata?: string | null })[]): Promise<void> {
    try {
      await this.#consumer.commitOffsets([...positions]);
    } catch (cause) {
      const failure = kafkaFailure(cause, this.#call, { code: ErrorCodes.COMMIT_FAILED, message: 'committing offsets failed' });
      // Refused by the group (an ACL): a member that may not commit is no member; readiness says so (groupJoined).
      if (isFatal(failure)) this.#joined = false;
      throw failure;
    }
  }

  /** Pauses or resumes the whole topic (backpressure). */
  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!this.#stopped) this.#applyPauses();
  }

  /** Stops fetching a partition for good (a bounded input reached its end). */
  pauseForGood(partition: number): void {
    if (this.#ended.has(partition)) return;
    this.#ended.add(partition);
    // kafkajs: pausing single partitions clears a whole-topic pause, so while one is on it covers this partition.
    if (this.#up && !this.#paused && !this.#stopped) this.#consumer.pause([{ topic: this.#o.topic, partitions: [partition] }]);
  }

  /**
   * Stops fetching but stays in the group, so what is in flight can still be committed. (kafkajs' own stop() leaves
   * the group, after which commits are silently dropped.)
   */
  stopFetching(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#applyPauses();
  }

  /**
   * Leaves the group and joins it again, so every partition is assigned afresh and fetched from its committed offset
   * (the input's way back to a partition it was fenced on without a rebalance). A failed rejoin is retried like a
   * crash. False, doing nothing, while the consumer is not settled in the group (joining, restarting, rejoining) or
   * is stopping.
   */
  rejoin(): boolean {
    // Only from a settled membership: kafkajs' stop() does nothing to a consumer still joining (its runner would go
    // on fetching beside the new one), and a join under way assigns everything afresh anyway.
    if (this.#closing || this.#stopped || this.#rejoining || this.#restartTimer || !this.#up || !this.#joined) return false;
    this.#rejoining = (async () => {
      this.#joined = false;
      this.#up = false;
      try {
        await this.#consumer.stop();
        if (!this.#closing) await this.#run();
      } catch (err) {
        if (!this.#closing && !this.#restartTimer) this.#log.warn({ err, restartInMs: this.#scheduleRestart() }, 'rejoining the group failed; retrying');
      } finally {
        this.#rejoining = null;
      }
    })();
    return true;
  }

  /** Leaves the group and disconnects (kafkajs waits for a running eachBatch). Call after the last commit. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.stopFetching();
      if (this.#restartTimer) clearTimeout(this.#restartTimer);
      this.#joined = false;
      await this.#rejoining?.catch(() => {});
      await this.#consumer.disconnect();
    })();
    return this.#closing;
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

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale()) return;
    // Backpressure: batches of a fetch response that arrived before the pause are left unresolved, so kafkajs
    // fetches them again after the resume instead of them piling up in memory.
    if (this.#paused || !this.#handler) return;
    const last = batch.lastOffset();
    const taken = await this.#handler.batch({
      topic: batch.topic,
      partition: batch.partition,
      messages: batch.messages,
      lastOffset: last,
      highWatermark: batch.highWatermark,
      current: () => isRunning() && !isStale(),
    });
    if (!taken) return;
    // Moves kafkajs' fetch position only: with autoCommit off, commits are ours alone.
    resolveOffset(last);
    await heartbeat();
  }

  #crashed(error: Error, restart: boolean): void {
    // kafkajs has disconnected the consumer; it starts it again itself only when `restart` is true.
    this.#joined = false;
    this.#up = false;
    const failure = kafkaFailure(error, this.#call, { code: ErrorCodes.BROKER_UNAVAILABLE, message: 'consumer crashed' });
    if (isFatal(failure)) {
      // Logged once, under `err`, where the process stops on it (kafkajs is told not to restart after it).
      this.#log.error({ code: failure.code, restart }, 'consumer crashed; cannot recover');
      if (!this.#closing) this.#o.onFatal(failure);
      return;
    }
    if (restart || this.#closing) {
      this.#log.error({ err: error, restart }, 'consumer crashed');
      return;
    }
    // E.g. no group coordinator while the broker is down: kafkajs gives up, we keep trying (not ready meanwhile).
    this.#log.error({ err: error, restartInMs: this.#scheduleRestart() }, 'consumer crashed; restarting it');
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
      if (this.#closing) return;
      const failure = kafkaFailure(err, this.#call, { code: ErrorCodes.BROKER_UNAVAILABLE, message: 'restarting the consumer failed' });
      if (isFatal(failure)) {
        this.#log.error({ code: failure.code }, 'restarting the consumer failed; cannot recover');
        this.#o.onFatal(failure);
        return;
      }
      this.#log.warn({ err, restartInMs: this.#scheduleRestart() }, 'restarting the consumer failed; retrying');
    }
  }

  /** Restarts the consumer after the current backoff, which doubles (up to 30 s) until a join; returns the wait. */
  #scheduleRestart(): number {
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(MAX_RESTART_DELAY_MS, delay * 2);
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
    return delay;
  }

  /** Tells kafkajs what to fetch: nothing while paused or stopped, else all but the partitions paused for good. */
  #applyPauses(): void {
    if (!this.#up) return; // applied when the consumer (re)joins
    const topics = [{ topic: this.#o.topic }];
    if (this.#paused || this.#stopped) this.#consumer.pause(topics);
    else {
      this.#consumer.resume(topics);
      if (this.#ended.size > 0) this.#consumer.pause([{ topic: this.#o.topic, partitions: [...this.#ended] }]);
    }
  }
}
