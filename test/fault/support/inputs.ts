/**
 * Inputs with known ids, published to the input topic, and what each must become. Large counts are generated and
 * sent in chunks, so a million inputs are never held at once (only their ids and expected outcomes are).
 */
import { loadAvroSchema, type AvroType } from '../../../src/codec/schema.js';
import { demoInputs } from '../../../src/demo/demoInputs.js';
import { InputProducer, type InputMessage } from '../../../src/kafka/inputProducer.js';
import { createKafka, withTimeout } from '../../support/kafka.js';
import { PREDICTION, type Expected } from './tally.js';

export const INPUT_SCHEMA = 'schemas/borehole-input.avsc';
export const OUTPUT_SCHEMA = 'schemas/borehole-prediction.avsc';
const CLOSE_TIMEOUT_MS = 10_000;

let inputType: Promise<AvroType> | undefined;
export function boreholeInputType(): Promise<AvroType> {
  return (inputType ??= loadAvroSchema(INPUT_SCHEMA));
}

/** Publishes messages (acks=all, idempotent producer) in sends of `chunk` messages. */
export async function publish(brokers: string[], topic: string, messages: readonly InputMessage[], chunk = 5000): Promise<void> {
  const producer = new InputProducer(createKafka(brokers), topic, chunk);
  await producer.start();
  try {
    await producer.send(messages);
  } finally {
    await withTimeout(producer.close(), CLOSE_TIMEOUT_MS, 'input producer close');
  }
}

export interface DemoStreamOptions {
  count: number;
  seed: number;
  /** Every n-th input is poison of the next kind (0: none). */
  poisonEvery: number;
  /** Ids are `<prefix>-<i>`, or `<prefix><chunk>-<i>` past one chunk. */
  prefix: string;
  /** Inputs generated and sent at a time. */
  chunk?: number;
  /** Receives the expectations (defaults to a new map, returned). */
  expected?: Map<string, Expected>;
}

/**
 * Publishes `count` demo inputs (src/demo/demoInputs.ts) with known ids and records what each must become.
 * Keys are the ids.
 */
export async function publishDemoInputs(brokers: string[], topic: string, options: DemoStreamOptions): Promise<Map<string, Expected>> {
  const type = await boreholeInputType();
  const expected = options.expected ?? new Map<string, Expected>();
  const chunk = options.chunk ?? 50_000;
  const producer = new InputProducer(createKafka(brokers), topic, 5000);
  await producer.start();
  try {
    for (let from = 0, c = 0; from < options.count; from += chunk, c++) {
      const n = Math.min(chunk, options.count - from);
      const prefix = options.count <= chunk ? options.prefix : `${options.prefix}${c}`;
      const inputs = demoInputs(type, n, { seed: options.seed + c, poisonEvery: options.poisonEvery, prefix });
      for (const id of inputs.valid.keys()) expected.set(id, PREDICTION);
      for (const [id, kind] of inputs.poison) expected.set(id, { kind: 'deadLetter', stage: kind.stage, code: kind.code });
      await producer.send(inputs.messages);
    }
  } finally {
    await withTimeout(producer.close(), CLOSE_TIMEOUT_MS, 'input producer close');
  }
  return expected;
}
