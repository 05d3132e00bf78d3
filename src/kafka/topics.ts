import kafkajs, { type Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { ErrorCodes, StreamserveError } from '../errors.js';
import { brokerUnavailable } from './client.js';

// Not among the names Node can import from kafkajs (CommonJS) directly.
const { ConfigResourceTypes } = kafkajs;

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
}

/** Names of `topics` that do not exist on the cluster. */
export async function missingTopics(kafka: Kafka, topics: readonly string[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics that do not exist yet; returns the names it created. Existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length === 0) return [];
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor ?? -1,
      })),
    });
    return missing.map((s) => s.topic);
  } finally {
    await admin.disconnect();
  }
}

/** Kafka's default `message.max.bytes`, used for a topic whose own limit cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * Each topic's `max.message.bytes` (the largest record batch the broker accepts on it), as the broker reports it
 * (the topic's override or the broker's default).
 */
export async function maxMessageBytes(kafka: Kafka, topics: readonly string[]): Promise<Map<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    const limits = new Map<string, number>();
    for (const r of resources) {
      const value = Number(r.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      limits.set(r.resourceName, Number.isFinite(value) && value > 0 ? value : DEFAULT_MAX_MESSAGE_BYTES);
    }
    return limits;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Fails, naming them, when any of `topics` is missing (auto-creation would hide typos); BROKER_UNAVAILABLE when the
 * cluster cannot be asked. `hint` says how to create them.
 */
export async function requireTopics(kafka: Kafka, brokers: readonly string[], topics: readonly string[], hint: string): Promise<void> {
  let missing: string[];
  try {
    missing = await missingTopics(kafka, topics);
  } catch (cause) {
    throw brokerUnavailable(`cannot reach ${brokers.join(',')}`, cause);
  }
  if (missing.length > 0) {
    throw new StreamserveError(ErrorCodes.TOPIC_NOT_FOUND, `topic(s) ${missing.join(', ')} do not exist; ${hint}`);
  }
}

/** Each topic's max.message.bytes; Kafka's default, with a warning, where it cannot be read. */
export async function messageLimits(kafka: Kafka, topics: readonly string[], logger: Logger): Promise<Map<string, number>> {
  try {
    const limits = await maxMessageBytes(kafka, topics);
    return new Map(topics.map((t) => [t, limits.get(t) ?? DEFAULT_MAX_MESSAGE_BYTES]));
  } catch (err) {
    logger.warn({ err, assumed: DEFAULT_MAX_MESSAGE_BYTES }, "cannot read the topics' max.message.bytes; assuming Kafka's default");
    return new Map(topics.map((t) => [t, DEFAULT_MAX_MESSAGE_BYTES]));
  }
}
