/**
 * Borehole inputs as the benchmark publishes them: Avro values written with the project's input schema, keyed by
 * id, generated deterministically in chunks (a million input objects at once would dominate this process's heap).
 */
import { CompressionTypes, type Kafka, type Message } from 'kafkajs';
import { type AvroType, sampleBoreholeInputs } from '../src/index.js';

export interface InputChunk {
  messages: Message[];
  bytes: number;
}

/** Inputs `from` … `from + count - 1`, ids `${prefix}-${i}`, event_time `eventTime(i)` (default now). */
export function inputChunk(
  type: AvroType,
  prefix: string,
  from: number,
  count: number,
  eventTime: (i: number) => number = () => Date.now(),
  frame: (body: Buffer) => Buffer = (body) => body,
): InputChunk {
  const samples = sampleBoreholeInputs(count, 1 + from);
  const messages: Message[] = new Array(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${from + i}`;
    const value = frame(type.toBuffer({ id, event_time: eventTime(from + i), ...samples[i]! }));
    bytes += value.length;
    messages[i] = { key: id, value };
  }
  return { messages, bytes };
}

/** Mean Avro value size of the inputs the benchmark publishes (ProducerPerformance uses the same record size). */
export function meanInputSize(type: AvroType, prefix: string): number {
  const sample = inputChunk(type, prefix, 0, 10_000);
  return Math.round(sample.bytes / sample.messages.length);
}

/**
 * Publishes `count` inputs as fast as the broker takes them (several large requests in flight, acks=1): this is
 * set-up, not a measurement. Resolves to the mean value size. `frame` wraps each value (the Confluent framing).
 */
export async function preload(
  kafka: Kafka,
  type: AvroType,
  topic: string,
  count: number,
  prefix: string,
  frame?: (body: Buffer) => Buffer,
): Promise<{ seconds: number; meanBytes: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 8 });
  await producer.connect();
  const started = performance.now();
  let bytes = 0;
  try {
    const chunk = 20_000;
    const inFlight: Promise<unknown>[] = [];
    for (let from = 0; from < count; from += chunk) {
      const { messages, bytes: b } = inputChunk(type, prefix, from, Math.min(chunk, count - from), undefined, frame);
      bytes += b;
      // requests of ~2,500 messages (~0.25 MB) keep each produce request well under the broker's limits
      for (let i = 0; i < messages.length; i += 2_500) {
        inFlight.push(producer.send({ topic, acks: 1, compression: CompressionTypes.None, messages: messages.slice(i, i + 2_500) }));
      }
      while (inFlight.length > 8) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
  return { seconds: (performance.now() - started) / 1000, meanBytes: bytes / count };
}
