/**
 * Helpers for tests against a real broker. Every test works on its own randomly named topics and groups, because
 * one broker is shared by the whole run (and leftovers of a failed test must not leak into the next). Waits poll a
 * condition; nothing sleeps a fixed time. Every close has a timeout.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';

const CLOSE_TIMEOUT_MS = 10_000;

/** A random name, unique per call: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A kafkajs client that stays quiet: errors only with `TEST_KAFKA_LOG=error`, otherwise nothing. */
export function createKafka(brokers: string[], clientId = uniqueName('test')): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: process.env.TEST_KAFKA_LOG === 'error' ? logLevel.ERROR : logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  configEntries?: Array<{ name: string; value: string }>;
}

/** What `createTopics` registers its cleanup with: node:test's TestContext (`t.after`) or a suite's `after`. */
export interface CleanupRegistry {
  after(fn: () => Promise<void>): void;
}

/**
 * Creates the topics and waits until every partition has a leader. Returns a function that deletes them
 * (idempotent); when `cleanup` is given, the deletion is also registered there.
 */
export async function createTopics(
  brokers: string[],
  topics: TopicSpec[],
  cleanup?: CleanupRegistry,
): Promise<() => Promise<void>> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    const created = await admin.createTopics({
      topics: topics.map(({ topic, partitions, configEntries }) => ({
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        ...(configEntries === undefined ? {} : { configEntries }),
      })),
      waitForLeaders: true,
      timeout: 15_000,
    });
    if (!created) throw new Error(`topics already exist: ${topics.map((t) => t.topic).join(', ')}`);
  } finally {
    await withTimeout(admin.disconnect(), CLOSE_TIMEOUT_MS, 'admin disconnect');
  }

  let deletion: Promise<void> | undefined;
  const drop = (): Promise<void> => (deletion ??= deleteTopics(brokers, topics.map((t) => t.topic)));
  cleanup?.after(drop);
  return drop;
}

async function deleteTopics(brokers: string[], topics: string[]): Promise<void> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 15_000 });
  } finally {
    await withTimeout(admin.disconnect(), CLOSE_TIMEOUT_MS, 'admin disconnect');
  }
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited; the timeout error starts with it. */
  message: string;
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that value. A throwing condition counts as
 * "not yet"; its last error becomes the timeout error's cause.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 50, message }: WaitForOptions,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${message} (not within ${timeoutMs} ms)`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

export interface ReadOptions {
  /** Default `read_committed` (kafkajs' default): aborted transactional messages are never returned. */
  isolation?: 'read_committed' | 'read_uncommitted';
  /** Read in this group, from its committed offsets (default: a fresh group, from the beginning). */
  groupId?: string;
  /** A transaction left open by a killed writer holds read_committed readers back until it times out (60 s). */
  timeoutMs?: number;
}

/**
 * Reads `topic` to its end and returns every message, each partition's in offset order: see readTopicToEnd. A
 * surplus (a repeat, a stray write) is read like everything else, so a count the caller asserts is exact.
 */
export async function readAll(brokers: string[], topic: string, options: ReadOptions = {}): Promise<ReadMessage[]> {
  const messages: ReadMessage[] = [];
  await readTopicToEnd(brokers, topic, (m) => messages.push(m), { timeoutMs: 30_000, ...options });
  return messages;
}

/**
 * Calls `onMessage` for every message of `topic` (each partition in offset order) until every partition's position
 * reaches the end offset it had when reading started: writers must be done by then (if one is still writing, what
 * it adds later may or may not be read). Reads from the beginning in a fresh consumer group, or from `groupId`'s
 * committed offsets. Returns the number of messages. Commits nothing; the consumer is closed on every path. Rejects
 * on timeout (default 120 s), naming the partitions that did not reach their end.
 */
export async function readTopicToEnd(
  brokers: string[],
  topic: string,
  onMessage: (m: ReadMessage) => void,
  { isolation = 'read_committed', groupId, timeoutMs = 120_000 }: ReadOptions = {},
): Promise<number> {
  const kafka = createKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  // Where reading starts (the log start, or the group's committed offset) and where it ends, per partition.
  const positions = new Map<number, bigint>();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const o of offsets) positions.set(o.partition, BigInt(o.low));
    if (groupId !== undefined) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const p of committed?.partitions ?? []) if (p.offset !== '-1') positions.set(p.partition, BigInt(p.offset));
    }
    ends = new Map(offsets.filter((o) => BigInt(o.high) > positions.get(o.partition)!).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await withTimeout(admin.disconnect(), CLOSE_TIMEOUT_MS, 'admin disconnect');
  }
  if (ends.size === 0) return 0;

  const reached = (): boolean => [...ends].every(([p, end]) => positions.get(p)! >= end);
  const consumer = kafka.consumer({
    groupId: groupId ?? uniqueName('test-read'),
    readUncommitted: isolation === 'read_uncommitted',
    maxWaitTimeInMs: 250, // short fetch waits: the final disconnect does not wait out a long poll
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
    retry: { retries: 8, initialRetryTime: 100 },
  });
  let count = 0;
  let failed = false;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const behind = [...ends]
          .filter(([p, end]) => positions.get(p)! < end)
          .map(([p, end]) => `${p}: at ${positions.get(p)} of ${end}`);
        reject(new Error(`reading ${topic} to its end took over ${timeoutMs} ms (${isolation}; behind: ${behind.join(', ')})`));
      }, timeoutMs);
      const advance = (partition: number, lastOffset: string): void => {
        const next = BigInt(lastOffset) + 1n;
        if (next > (positions.get(partition) ?? 0n)) positions.set(partition, next);
        if (reached()) {
          clearTimeout(timer);
          resolve();
        }
      };
      // Batches of only control records or aborted messages never reach eachBatch, but they move the position.
      consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === topic && payload.batchSize === 0) advance(payload.partition, payload.lastOffset);
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) {
          clearTimeout(timer);
          reject(payload.error);
        }
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              count++;
              onMessage({
                topic: batch.topic,
                partition: batch.partition,
                offset: message.offset,
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
                timestamp: message.timestamp,
              });
            }
            advance(batch.partition, batch.lastOffset());
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        });
    });
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    // a close that times out fails the read, unless the read already failed (keep that error)
    await closeConsumer(consumer).catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
  return count;
}

/** Disconnects with a timeout; a consumer that does not close in time is left to the process exit. */
export async function closeConsumer(consumer: Consumer, timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
  await withTimeout(consumer.disconnect(), timeoutMs, 'consumer disconnect');
}

/** A header as a UTF-8 string (the first value when repeated). */
export function headerString(headers: IHeaders, name: string): string | undefined {
  const raw = headers[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first === undefined ? undefined : first.toString();
}

/** Resolves with `promise`, or rejects once `timeoutMs` passes; never leaves a timer behind. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
