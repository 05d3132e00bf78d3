import type { KafkaMessage } from 'kafkajs';

/** Header values as kafkajs hands them to us and takes them back. */
export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type Headers = Record<string, HeaderValue>;

/** One input message, as fetched. `offset` and `timestamp` are decimal strings, as in kafkajs. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestamp: string;
}

/** One message to write. The sink resolves only when the broker has acknowledged it. */
export interface OutboundMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Headers;
  timestamp?: string;
}

/** Topic-partition key used in maps: `topic:partition`. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** One fetched kafkajs message as an input record. */
export function toInputRecord(topic: string, partition: number, m: KafkaMessage): InputRecord {
  return { topic, partition, offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers ?? {}, timestamp: m.timestamp };
}
