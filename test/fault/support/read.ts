/**
 * Reads the output and dead-letter topics back, to their end, as a downstream consumer with read_committed would:
 * aborted transactional outcomes never count. "The end" is each partition's end offset when reading starts; all
 * writers are stopped by then, so it only moves if something is still writing (which the counts would show).
 */
import { createKafka, headerString, uniqueName, withTimeout, type ReadMessage } from '../../support/kafka.js';
import { Header } from '../../../src/kafka/headers.js';
import type { Outcome } from './tally.js';

const CLOSE_TIMEOUT_MS = 10_000;

export interface ReadToEndOptions {
  isolation?: 'read_committed' | 'read_uncommitted';
  /** A transaction left open by a killed writer holds read_committed readers back until it times out (60 s). */
  timeoutMs?: number;
}

/**
 * Calls `onMessage` for every message of `topic` (each partition in offset order) until every partition's position
 * reaches the end offset it had when reading started. Returns the number of messages. Rejects on timeout, naming
 * the partitions that did not reach their end.
 */
export async function readTopicToEnd(
  brokers: string[],
  topic: string,
  onMessage: (m: ReadMessage) => void,
  { isolation = 'read_committed', timeoutMs = 120_000 }: ReadToEndOptions = {},
): Promise<number> {
  const kafka = createKafka(brokers);
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await withTimeout(admin.disconnect(), CLOSE_TIMEOUT_MS, 'admin disconnect');
  }
  if (ends.size === 0) return 0;

  const positions = new Map<number, bigint>();
  const reached = (): boolean => [...ends].every(([p, end]) => (positions.get(p) ?? 0n) >= end);
  const consumer = kafka.consumer({
    groupId: uniqueName('fault-read'),
    readUncommitted: isolation === 'read_uncommitted',
    maxWaitTimeInMs: 250,
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
          .filter(([p, end]) => (positions.get(p) ?? 0n) < end)
          .map(([p, end]) => `${p}: at ${positions.get(p) ?? 0n} of ${end}`);
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
    await withTimeout(consumer.disconnect(), CLOSE_TIMEOUT_MS, 'consumer disconnect').catch((err: unknown) => {
      if (!failed) throw err;
    });
  }
  return count;
}

export interface OutcomeTopics {
  output: string;
  dlq: string;
}

/** The outcome a message of the output (`prediction`) or dead-letter topic stands for. */
export function toOutcome(m: ReadMessage, kind: Outcome['kind']): Outcome {
  return {
    id: m.key === null ? '(null key)' : m.key.toString(),
    kind,
    outputPartition: `${m.topic}:${m.partition}`,
    sourcePartition: Number(header(m, Header.sourcePartition) ?? -1),
    sourceOffset: Number(header(m, Header.sourceOffset) ?? -1),
    stage: header(m, Header.errorStage),
    code: header(m, Header.errorCode),
  };
}

/**
 * Reads both outcome topics to their end and hands every outcome to `onOutcome`; `onMessage` (optional) also gets
 * the raw message, for scenarios that check values. Returns how long reading took.
 */
export async function readOutcomes(
  brokers: string[],
  topics: OutcomeTopics,
  onOutcome: (o: Outcome) => void,
  options: ReadToEndOptions & { onMessage?: (m: ReadMessage, kind: Outcome['kind']) => void } = {},
): Promise<{ ms: number }> {
  const started = Date.now();
  const { onMessage, ...readOptions } = options;
  const read = (topic: string, kind: Outcome['kind']) =>
    readTopicToEnd(
      brokers,
      topic,
      (m) => {
        onOutcome(toOutcome(m, kind));
        onMessage?.(m, kind);
      },
      readOptions,
    );
  await Promise.all([read(topics.output, 'prediction'), read(topics.dlq, 'deadLetter')]);
  return { ms: Date.now() - started };
}

function header(m: ReadMessage, name: string): string | undefined {
  return headerString(m.headers, name);
}
