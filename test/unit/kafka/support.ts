/**
 * Stubs for testing the Kafka input without a broker: a consumer the test hands fetched batches through, the
 * producers behind both outputs, and inputs with the outcome each must get.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import type { AvroType } from '../../../src/codec/schema.js';
import { rawAvroDecoder, type InputDecoder } from '../../../src/codec/inputDecoder.js';
import { avroPredictionEncoder } from '../../../src/codec/predictionEncoder.js';
import { closeWithin } from '../../../src/closeWithin.js';
import { POISON_KINDS } from '../../../src/demo/poison.js';
import { ErrorCodes, StreamserveError, type ErrorCode, type Stage } from '../../../src/errors.js';
import { AtLeastOnceOutput, type ProducerSink } from '../../../src/kafka/atLeastOnce.js';
import type { GroupConsumerOptions } from '../../../src/kafka/consumer.js';
import type { BatchHandler, InputConsumer } from '../../../src/kafka/inputConsumer.js';
import { ExactlyOnceOutput, type TransactionalProducers } from '../../../src/kafka/exactlyOnce.js';
import { Header } from '../../../src/kafka/headers.js';
import { KafkaInput, type KafkaInputOptions } from '../../../src/kafka/input.js';
import type { CommitPosition } from '../../../src/kafka/offsetTracker.js';
import type { OutcomeTarget } from '../../../src/kafka/outcomes.js';
import type { PartitionCommit } from '../../../src/kafka/output.js';
import type { InputRecord, OutboundMessage } from '../../../src/kafka/records.js';
import type { WriteHealthOptions } from '../../../src/kafka/writeHealth.js';
import { scaleInput, type Signature } from '../../../src/model/signature.js';
import { Scorer } from '../../../src/scorer/scorer.js';
import { StubModel, encodeInput, goodBorehole, silentLogger, waitFor } from '../support.js';

export const TOPIC = 'inputs';
export const OUTPUT = 'predictions';
export const DLQ = 'dead-letters';
export const NOW = 1_800_000_000_000;
/** An input that hangs fails its test instead of the run. */
export const within = { timeout: 10_000 };
/** An rw value inside the valid range that the stub model refuses to score (an `infer` failure). */
export const MARK_RW = 0.0777;

/** Holds calls at a gate until unblock(); heal() also stops scripted failures (test clean-up). */
class Gate {
  held = 0;
  healed = false;
  #gate: Promise<void> | null = null;
  #open: () => void = () => {};

  block(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  unblock(): void {
    this.#gate = null;
    this.#open();
  }

  heal(): void {
    this.healed = true;
    this.unblock();
  }

  async pass(): Promise<void> {
    const gate = this.#gate;
    if (!gate) return;
    this.held++;
    await gate;
    this.held--;
  }
}

/** At-least-once producer: records what it accepted; a rejected send accepts nothing, as the Sink contract says. */
export class StubSink extends Gate implements ProducerSink {
  readonly connected = true;
  readonly accepted: OutboundMessage[] = [];
  attempts = 0;
  failures = 0;

  /**
   * `failWhen(attempt)` (1-based) rejects that attempt, with `error` (a retryable PRODUCE_FAILED by default);
   * `onAttempt` runs as each attempt starts.
   */
  constructor(
    private readonly script: {
      failWhen?: (attempt: number) => boolean;
      error?: (attempt: number) => StreamserveError;
      onAttempt?: (messages: readonly OutboundMessage[]) => void;
    } = {},
  ) {
    super();
  }

  async send(messages: readonly OutboundMessage[]): Promise<void> {
    const attempt = ++this.attempts;
    this.script.onAttempt?.(messages);
    await this.pass();
    if (!this.healed && this.script.failWhen?.(attempt)) {
      this.failures++;
      throw this.script.error?.(attempt) ?? new StreamserveError(ErrorCodes.PRODUCE_FAILED, `attempt ${attempt} refused`, { retryable: true });
    }
    this.accepted.push(...messages);
  }

  start = (): Promise<void> => Promise.resolve();
  close = (): Promise<void> => Promise.resolve();
}

/**
 * Exactly-once producers: records committed transactions; `failWith` makes an attempt reject (nothing written),
 * `loseAnswer` makes a committed attempt reject as if its answer never came. `offsets()` is what the group's
 * committed offsets read: each partition's last committed next offset.
 */
export class StubProducers extends Gate implements TransactionalProducers {
  readonly connected = true;
  readonly committed: PartitionCommit[] = [];
  attempts = 0;
  failures = 0;
  answersLost = 0;
  fences = 0;

  constructor(
    private readonly failWith: (commit: PartitionCommit, attempt: number) => StreamserveError | null = () => null,
    private readonly loseAnswer: (commit: PartitionCommit, attempt: number) => boolean = () => false,
  ) {
    super();
  }

  async commit(commit: PartitionCommit): Promise<void> {
    await this.pass();
    const attempt = ++this.attempts;
    const error = this.healed ? null : this.failWith(commit, attempt);
    if (error) {
      this.failures++;
      throw error;
    }
    this.committed.push(commit);
    if (!this.healed && this.loseAnswer(commit, attempt)) {
      this.answersLost++;
      throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `transaction ${attempt}: connection closed before the answer`, { retryable: true });
    }
  }

  /** Offsets committed by another owner of the partition (a zombie's view of a takeover). */
  readonly elsewhere = new Map<number, string>();

  offsets(): Map<number, string> {
    return new Map([...this.committed.map((c) => [c.source.partition, c.nextOffset] as const), ...this.elsewhere]);
  }

  fence = (): Promise<void> => {
    this.fences++;
    return Promise.resolve();
  };
  release = (): Promise<void> => Promise.resolve();
  close = (): Promise<void> => Promise.resolve();
}

/** A retryable transaction failure (nothing written). */
export const aborted = (attempt: number) => new StreamserveError(ErrorCodes.PRODUCE_FAILED, `transaction ${attempt} aborted`, { retryable: true });

/** The consumer the input is built with: the test hands in fetched batches; commits and pauses are recorded. */
export class StubConsumer implements InputConsumer {
  readonly joined = true;
  readonly fetching = true;
  paused = false;
  handler: BatchHandler | null = null;
  /** Every setPaused(), in order. */
  readonly pauses: boolean[] = [];
  /** Every commit, in order. */
  readonly commits: CommitPosition[][] = [];
  /** Runs as each commit is made (before it is recorded). */
  onCommit: (positions: readonly CommitPosition[]) => void = () => {};

  constructor(readonly options: GroupConsumerOptions) {}

  start(handler: BatchHandler): Promise<void> {
    this.handler = handler;
    return Promise.resolve();
  }

  commit(positions: readonly CommitPosition[]): Promise<void> {
    this.onCommit(positions);
    this.commits.push(positions.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
    return Promise.resolve();
  }

  /** The committed offset of each partition: partition → offset. */
  committed(): Record<number, string> {
    const out: Record<number, string> = {};
    for (const p of this.commits.flat()) {
      assert.equal(p.topic, TOPIC);
      out[p.partition] = p.offset;
    }
    return out;
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    this.pauses.push(paused);
  }

  /** How many times the input asked to rejoin the group. */
  rejoins = 0;
  rejoin(): boolean {
    this.rejoins++;
    return true;
  }

  pauseForGood(): void {}
  stopFetching(): void {}
  close = (): Promise<void> => Promise.resolve();
}

export interface Fixtures {
  inType: AvroType;
  outType: AvroType;
  signature: Signature;
}

export type Expected = { kind: 'prediction'; id: string; eventTime: number } | { kind: 'dead letter'; stage: Stage; code: ErrorCode };

export interface Input {
  record: InputRecord;
  expected: Expected;
}

/** A stub model that fails (non-retryably) on every row whose rw is MARK_RW. */
export function markedModel(signature: Signature): StubModel {
  const marked = Math.fround(scaleInput(signature.inputs[0]!, MARK_RW));
  return new StubModel({ signature, failsOn: (row) => row[0] === marked });
}

export interface Harness {
  input: KafkaInput;
  consumer: StubConsumer;
  model: StubModel;
  scorer: Scorer;
  /** Hands one fetched batch of one partition to the input (as kafkajs would); `lastOffset` defaults to its last record. */
  fetch(inputs: readonly Input[], lastOffset?: string): Promise<void>;
  /** The same, resolving whether the input took the batch (false: kafkajs would fetch it again). */
  offer(inputs: readonly Input[]): Promise<boolean>;
}

export interface HarnessOptions extends Partial<Pick<KafkaInputOptions, 'maxInflightRecords' | 'interactiveInflightRecords' | 'commitIntervalMs' | 'rejoinAfterFenceMs'>> {
  output: { sink: StubSink; health?: Omit<WriteHealthOptions, 'logger'> } | { producers: StubProducers };
  model?: StubModel;
  maxBatchSize?: number;
  maxBatchDelayMs?: number;
  maxMessageBytes?: OutcomeTarget['maxMessageBytes'];
  /** Partitions assigned at start. */
  partitions?: number[];
  /** Receives the input's fatal failures; by default one fails the test. */
  onFatal?: (err: Error) => void;
  /** The raw Avro decoder by default. */
  decoder?: InputDecoder;
}

/**
 * A started KafkaInput with the real codecs and Scorer, a stub model, the stub consumer and the given output, with
 * `partitions` assigned. When the test ends, however it ends, the output stops retrying, the producers let
 * everything through and every client is closed.
 */
export async function startInput(t: TestContext, f: Fixtures, options: HarnessOptions): Promise<Harness> {
  const model = options.model ?? markedModel(f.signature);
  const scorer = new Scorer({ model, maxBatchSize: options.maxBatchSize ?? 64, maxBatchDelayMs: options.maxBatchDelayMs ?? 5, logger: silentLogger, inferRetries: 0 });
  let consumer: StubConsumer | undefined;
  const out = options.output;
  const health = { backoffMs: 1, maxBackoffMs: 4, ...('health' in out ? out.health : {}) };
  const input = new KafkaInput({
    kafka: {} as never, // never used: the consumer and the offsets reader are handed in
    consumer: { topic: TOPIC, groupId: 'test', fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxBytesPerPartition: 1 << 20, fetchMaxWaitMs: 100, fetchMinBytes: 1 },
    createConsumer: (o) => (consumer = new StubConsumer(o)),
    offsets: { committed: async () => new Map(), ends: async () => new Map(), close: async () => {} },
    scorer,
    decoder: options.decoder ?? rawAvroDecoder(f.inType),
    encoder: avroPredictionEncoder(f.outType, f.signature),
    target: { outputTopic: OUTPUT, deadLetterTopic: DLQ, signature: f.signature, runtime: 'tfjs-cpu', ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}) },
    output: (context) =>
      'sink' in out
        ? new AtLeastOnceOutput({ ...context, sink: out.sink, logger: silentLogger, health })
        : new ExactlyOnceOutput({ ...context, producers: out.producers, offsets: { committed: async () => out.producers.offsets(), close: async () => {} }, logger: silentLogger, health }),
    commitIntervalMs: options.commitIntervalMs ?? 0,
    maxInflightRecords: options.maxInflightRecords ?? 10_000,
    ...(options.interactiveInflightRecords === undefined ? {} : { interactiveInflightRecords: options.interactiveInflightRecords }),
    ...(options.rejoinAfterFenceMs === undefined ? {} : { rejoinAfterFenceMs: options.rejoinAfterFenceMs }),
    logger: silentLogger,
    onFatal: options.onFatal ?? ((err) => assert.fail(err)),
    now: () => NOW,
  });
  t.after(async () => {
    input.abort();
    ('sink' in out ? out.sink : out.producers).heal();
    scorer.close();
    assert.deepEqual(await closeWithin(input.close(), 2000), [], 'every client closed');
  });
  await input.start();
  const stub = consumer!;
  stub.options.onAssigned((options.partitions ?? [0, 1, 2]).map((partition) => ({ topic: TOPIC, partition })));
  return {
    input,
    consumer: stub,
    model,
    scorer,
    async fetch(inputs, lastOffset) {
      assert.equal(await offer(inputs, lastOffset), true, 'the batch was taken');
    },
    offer: (inputs) => offer(inputs),
  };

  function offer(inputs: readonly Input[], lastOffset?: string): Promise<boolean> {
    const records = inputs.map((i) => i.record);
    const messages: KafkaMessage[] = records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp, attributes: 0, offset: r.offset, headers: r.headers }));
    const { partition } = records[0]!;
    const last = lastOffset ?? records.at(-1)!.offset;
    return stub.handler!.batch({ topic: TOPIC, partition, messages, lastOffset: last, highWatermark: String(BigInt(last) + 1n), current: () => true });
  }
}

/** Fetches each partition's inputs in batches of `chunk`, partitions taking turns. */
export async function fetchInChunks(h: Harness, byPartition: readonly Input[][], chunk: number): Promise<void> {
  const longest = Math.max(...byPartition.map((p) => p.length));
  for (let from = 0; from < longest; from += chunk) {
    for (const inputs of byPartition) if (inputs.length > from) await h.fetch(inputs.slice(from, from + chunk));
  }
}

function inputRecord(partition: number, offset: number, value: Buffer | null): InputRecord {
  return {
    topic: TOPIC,
    partition,
    offset: String(offset),
    key: Buffer.from(`key-${partition}-${offset}`),
    value,
    headers: { 'trace-id': `trace-${partition}-${offset}` },
    timestamp: String(1_700_000_000_000 + offset),
  };
}

/** `count` valid inputs on one partition from offset `first`. */
export function goodInputs(f: Fixtures, partition: number, first: number, count: number): Input[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = first + i;
    const id = `in-${partition}-${offset}`;
    const eventTime = 1_600_000_000_000 + offset;
    return {
      record: inputRecord(partition, offset, encodeInput(f.inType, id, goodBorehole(offset * 31 + partition), eventTime)),
      expected: { kind: 'prediction', id, eventTime },
    };
  });
}

/** A partition's inputs with every poison kind and some rows the model fails on, between valid ones. */
export function mixedInputs(f: Fixtures, partition: number, first: number, count: number): Input[] {
  return goodInputs(f, partition, first, count).map((input, i) => {
    const offset = first + i;
    const id = `in-${partition}-${offset}`;
    if (i % 4 === 1) {
      const kind = POISON_KINDS[(partition * 3 + (i >> 2)) % POISON_KINDS.length]!;
      return { record: inputRecord(partition, offset, kind.value(f.inType, id, goodBorehole(offset))), expected: { kind: 'dead letter', stage: kind.stage, code: kind.code } };
    }
    if (i % 7 === 3) {
      const value = encodeInput(f.inType, id, { ...goodBorehole(offset), rw: MARK_RW });
      return { record: inputRecord(partition, offset, value), expected: { kind: 'dead letter', stage: 'infer', code: ErrorCodes.INFERENCE_FAILED } };
    }
    return input;
  });
}

export function header(message: OutboundMessage, name: string): string {
  const value = message.headers[name];
  assert.ok(value !== undefined && !Array.isArray(value), `header ${name} is a single value`);
  return value.toString();
}

export const sourceKey = (m: OutboundMessage) => `${header(m, Header.sourcePartition)}:${header(m, Header.sourceOffset)}`;
export const sourceOffsets = (messages: readonly OutboundMessage[]) => messages.map((m) => header(m, Header.sourceOffset));

/** Offsets `from` (inclusive) to `to` (exclusive), as strings. */
export const offsets = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => String(from + k));

/** Source offsets in write order, per source partition. */
export function offsetsByPartition(messages: readonly OutboundMessage[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const m of messages) {
    const p = Number(header(m, Header.sourcePartition));
    out.set(p, [...(out.get(p) ?? []), header(m, Header.sourceOffset)]);
  }
  return out;
}

/** Each partition's last offset + 1: what is committed once every input has its outcome. */
export function lastPlusOne(byPartition: readonly Input[][]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const inputs of byPartition) {
    const last = inputs.at(-1)!.record;
    out[last.partition] = String(BigInt(last.offset) + 1n);
  }
  return out;
}

/**
 * Nothing lost: the inputs below a committed position whose outcome the sink has not acknowledged. Called from the
 * stubs' callbacks, so it collects rather than throws (a throw there would be taken for a failed write or commit).
 */
export function committedWithoutOutcome(positions: readonly CommitPosition[], sink: StubSink, inputs: readonly Input[]): string[] {
  const acknowledged = new Set(sink.accepted.map(sourceKey));
  const lost: string[] = [];
  for (const p of positions) {
    for (const { record } of inputs) {
      const key = `${record.partition}:${record.offset}`;
      if (record.partition === p.partition && BigInt(record.offset) < BigInt(p.offset) && !acknowledged.has(key)) lost.push(key);
    }
  }
  return lost;
}

/**
 * Fetches offsets 0-3 and waits until their write is held (`held`), then fetches 4-19 in four batches of four, each
 * scored while that write is still held.
 */
export async function fetchFourBehindAHeldWrite(h: Harness, inputs: readonly Input[], held: () => boolean): Promise<void> {
  await h.fetch(inputs.slice(0, 4));
  await waitFor(held, { what: 'the first write to be held' });
  for (let i = 4; i < 20; i += 4) {
    await h.fetch(inputs.slice(i, i + 4));
    await waitFor(() => h.model.batchSizes.length === i / 4 + 1, { what: `offsets ${i}-${i + 3} scored` });
  }
}
