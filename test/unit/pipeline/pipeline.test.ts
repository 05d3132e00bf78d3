import { test, describe, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { AvroType } from '../../../src/codec/schema.js';
import { rawAvroDecoder } from '../../../src/codec/inputDecoder.js';
import { avroPredictionEncoder } from '../../../src/codec/predictionEncoder.js';
import { POISON_KINDS } from '../../../src/demo/poison.js';
import { scaleInput, unscaleOutput, type Signature } from '../../../src/model/signature.js';
import { Pipeline, type PipelineOptions } from '../../../src/pipeline/pipeline.js';
import { Header } from '../../../src/pipeline/headers.js';
import type { InputRecord, OutboundMessage } from '../../../src/pipeline/record.js';
import type { PartitionCommit, Sink, TransactionalSink } from '../../../src/pipeline/sink.js';
import { ErrorCodes, StreamserveError, type ErrorCode, type Stage } from '../../../src/errors.js';
import { StubModel, boreholeSignature, encodeInput, goodBorehole, inputSchema, predictionSchema, silentLogger, waitFor } from '../support.js';

const TOPIC = 'inputs';
const OUTPUT = 'predictions';
const DLQ = 'dead-letters';
const NOW = 1_800_000_000_000;
/** A pipeline that hangs fails its test instead of the run. */
const within = { timeout: 10_000 };
/** An rw value inside the valid range that the stub model refuses to score (an `infer` failure). */
const MARK_RW = 0.0777;

interface StubSinkOptions {
  /** Whether send attempt number `attempt` (1-based) rejects. */
  failWhen?: (attempt: number) => boolean;
  /** Called at the start of every send attempt, before it is held or fails. */
  onAttempt?: (messages: readonly OutboundMessage[]) => void;
}

/**
 * Records what it accepted. Can hold sends until released (a slow broker) and reject chosen attempts; a
 * rejected send accepts nothing, as the Sink contract says.
 */
class StubSink implements Sink {
  readonly accepted: OutboundMessage[] = [];
  attempts = 0;
  failures = 0;
  /** Sends currently held by block(). */
  held = 0;
  readonly #o: StubSinkOptions;
  #gate: { promise: Promise<void>; open: () => void } | null = null;
  #healed = false;

  constructor(options: StubSinkOptions = {}) {
    this.#o = options;
  }

  block(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.#gate = { promise, open };
  }

  release(): void {
    const gate = this.#gate;
    this.#gate = null;
    gate?.open();
  }

  /** Lets everything through from now on: held sends go and no attempt fails (test clean-up). */
  heal(): void {
    this.#healed = true;
    this.release();
  }

  async send(messages: OutboundMessage[]): Promise<void> {
    const attempt = ++this.attempts;
    this.#o.onAttempt?.(messages);
    if (this.#gate) {
      this.held++;
      await this.#gate.promise;
      this.held--;
    }
    if (!this.#healed && this.#o.failWhen?.(attempt)) {
      this.failures++;
      throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `attempt ${attempt} refused`, { retryable: true });
    }
    this.accepted.push(...messages);
  }
}

type Expected =
  | { kind: 'prediction'; id: string; eventTime: number }
  | { kind: 'dead letter'; stage: Stage; code: ErrorCode };

interface Input {
  record: InputRecord;
  expected: Expected;
}

let inType: AvroType;
let outType: AvroType;
let signature: Signature;

before(async () => {
  inType = await inputSchema();
  outType = await predictionSchema();
  signature = await boreholeSignature();
});

function stubModel(): StubModel {
  const marked = Math.fround(scaleInput(signature.inputs[0]!, MARK_RW));
  return new StubModel({ signature, failsOn: (row) => row[0] === marked });
}

/**
 * A pipeline with the real codecs, a stub model and the given sink. When the test ends, however it ends, the
 * pipeline stops retrying and the sink lets every send through, so a failed test leaves nothing running.
 */
function makePipeline(
  t: TestContext,
  overrides: Partial<PipelineOptions> & { sink: StubSink; model?: StubModel },
): { pipeline: Pipeline; model: StubModel } {
  const model = overrides.model ?? stubModel();
  const pipeline = new Pipeline({
    decoder: rawAvroDecoder(inType),
    encoder: avroPredictionEncoder(outType, signature),
    target: { outputTopic: OUTPUT, deadLetterTopic: DLQ, signature, backend: 'cpu' },
    maxBatchSize: 64,
    maxBatchDelayMs: 5,
    maxInflightRecords: 10_000,
    logger: silentLogger,
    inferRetries: 0,
    sinkBackoffMs: 1,
    sinkMaxBackoffMs: 4,
    now: () => NOW,
    ...overrides,
    model,
  });
  t.after(() => {
    pipeline.abort();
    overrides.sink.heal();
  });
  return { pipeline, model };
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
function goodInputs(partition: number, first: number, count: number): Input[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = first + i;
    const id = `in-${partition}-${offset}`;
    const eventTime = 1_600_000_000_000 + offset;
    return {
      record: inputRecord(partition, offset, encodeInput(inType, id, goodBorehole(offset * 31 + partition), eventTime)),
      expected: { kind: 'prediction', id, eventTime },
    };
  });
}

/** A partition's inputs with every poison kind and some rows the model fails on, between valid ones. */
function mixedInputs(partition: number, first: number, count: number): Input[] {
  return goodInputs(partition, first, count).map((input, i) => {
    const offset = first + i;
    const id = `in-${partition}-${offset}`;
    if (i % 4 === 1) {
      const kind = POISON_KINDS[(partition * 3 + (i >> 2)) % POISON_KINDS.length]!;
      return { record: inputRecord(partition, offset, kind.value(inType, id, goodBorehole(offset))), expected: { kind: 'dead letter', stage: kind.stage, code: kind.code } };
    }
    if (i % 7 === 3) {
      const value = encodeInput(inType, id, { ...goodBorehole(offset), rw: MARK_RW });
      return { record: inputRecord(partition, offset, value), expected: { kind: 'dead letter', stage: 'infer', code: ErrorCodes.INFERENCE_FAILED } };
    }
    return input;
  });
}

function pushInChunks(pipeline: Pipeline, byPartition: Input[][], chunk: number): void {
  const longest = Math.max(...byPartition.map((p) => p.length));
  for (let from = 0; from < longest; from += chunk) {
    for (const inputs of byPartition) {
      const records = inputs.slice(from, from + chunk).map((i) => i.record);
      if (records.length > 0) pipeline.push(records);
    }
  }
}

function header(message: OutboundMessage, name: string): string {
  const value = message.headers[name];
  assert.ok(value !== undefined && !Array.isArray(value), `header ${name} is a single value`);
  return value.toString();
}

const sourceKey = (m: OutboundMessage) => `${header(m, Header.sourcePartition)}:${header(m, Header.sourceOffset)}`;

/** Offsets in sink order, per source partition. */
function offsetsByPartition(messages: readonly OutboundMessage[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const m of messages) {
    const p = Number(header(m, Header.sourcePartition));
    out.set(p, [...(out.get(p) ?? []), header(m, Header.sourceOffset)]);
  }
  return out;
}

/** tracker.uncommitted() as partition → offset. */
function committable(pipeline: Pipeline): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of pipeline.tracker.uncommitted()) {
    assert.equal(p.topic, TOPIC);
    out[p.partition] = p.offset;
  }
  return out;
}

/**
 * Nothing lost: every offset below a committable position has an acknowledged outcome in the sink. Returns the
 * offsets that break this. Called from inside the pipeline's callbacks, so it collects rather than throws: a
 * throw there would be taken for a sink failure.
 */
function committedWithoutOutcome(pipeline: Pipeline, sink: StubSink, inputs: readonly Input[]): string[] {
  const acknowledged = new Set(sink.accepted.map(sourceKey));
  const lost: string[] = [];
  for (const p of pipeline.tracker.uncommitted()) {
    for (const { record } of inputs) {
      const key = `${record.partition}:${record.offset}`;
      if (record.partition === p.partition && BigInt(record.offset) < BigInt(p.offset) && !acknowledged.has(key)) lost.push(key);
    }
  }
  return lost;
}

function lastPlusOne(byPartition: Input[][]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const inputs of byPartition) {
    const last = inputs.at(-1)!.record;
    out[last.partition] = String(BigInt(last.offset) + 1n);
  }
  return out;
}

describe('Pipeline', () => {
  test('every input gets exactly one outcome, per-partition order kept, predictions and dead letters correct', within, async (t) => {
    const byPartition = [mixedInputs(0, 0, 30), mixedInputs(1, 1000, 25), mixedInputs(2, 7, 28)];
    const inputs = byPartition.flat();
    const sink = new StubSink();
    const lost: string[] = [];
    const { pipeline, model } = makePipeline(t, {
      sink,
      maxBatchSize: 7,
      onAcknowledged: () => lost.push(...committedWithoutOutcome(pipeline, sink, inputs)),
    });
    pushInChunks(pipeline, byPartition, 6);
    await pipeline.drain();
    assert.deepEqual(lost, [], 'offsets committable before their outcome was acknowledged');

    // exactly one outcome per input
    assert.equal(sink.accepted.length, inputs.length);
    assert.deepEqual(new Set(sink.accepted.map(sourceKey)), new Set(inputs.map((i) => `${i.record.partition}:${i.record.offset}`)));

    // per-partition order of source offsets
    const order = offsetsByPartition(sink.accepted);
    for (const partitionInputs of byPartition) {
      const p = partitionInputs[0]!.record.partition;
      assert.deepEqual(order.get(p), partitionInputs.map((i) => i.record.offset), `partition ${p} order`);
    }

    const byKey = new Map(sink.accepted.map((m) => [sourceKey(m), m]));
    let predictions = 0;
    const deadLetterCodes = new Set<string>();
    for (const { record, expected } of inputs) {
      const m = byKey.get(`${record.partition}:${record.offset}`)!;
      const what = `${record.partition}:${record.offset}`;
      assert.deepEqual(m.key, record.key, `${what} key`);
      assert.equal(header(m, Header.sourceTopic), TOPIC);
      assert.equal(header(m, Header.modelVersion), signature.version);
      if (expected.kind === 'prediction') {
        predictions++;
        assert.equal(m.topic, OUTPUT, `${what} goes to the output topic`);
        const decoded = outType.fromBuffer(m.value!) as Record<string, unknown>;
        const decodedInput = inType.fromBuffer(record.value!) as Record<string, number>;
        const row0 = Math.fround(scaleInput(signature.inputs[0]!, decodedInput[signature.inputs[0]!.field]!));
        assert.deepEqual(
          { ...decoded },
          {
            id: expected.id,
            flow_rate: unscaleOutput(signature.outputs[0]!, model.rawOutputs(Float32Array.of(row0))[0]!),
            model_name: signature.name,
            model_version: signature.version,
            event_time: expected.eventTime,
            scored_at: NOW,
          },
          what,
        );
        assert.deepEqual(
          Object.keys(m.headers).sort(),
          [Header.backend, Header.modelVersion, Header.sourceOffset, Header.sourcePartition, Header.sourceTopic],
          `${what}: lineage headers only`,
        );
      } else {
        deadLetterCodes.add(expected.code);
        assert.equal(m.topic, DLQ, `${what} goes to the dead-letter topic`);
        assert.deepEqual(m.value, record.value, `${what} keeps the original value`);
        assert.equal(m.timestamp, record.timestamp, `${what} keeps the original timestamp`);
        assert.equal(header(m, 'trace-id'), `trace-${what.replace(':', '-')}`, `${what} keeps the original headers`);
        assert.equal(header(m, Header.modelName), signature.name, `${what} names the model`);
        assert.equal(header(m, Header.errorStage), expected.stage, `${what} stage`);
        assert.equal(header(m, Header.errorCode), expected.code, `${what} code`);
        assert.ok(header(m, Header.errorMessage).length > 0, `${what} message`);
      }
    }
    assert.ok(predictions > 0 && predictions < inputs.length, 'the scenario has both kinds of outcome');
    assert.equal(deadLetterCodes.size, new Set([...POISON_KINDS.map((k) => k.code), ErrorCodes.INFERENCE_FAILED]).size, 'every poison kind was exercised');
    assert.ok(Math.max(...model.batchSizes) <= 7);

    assert.deepEqual(committable(pipeline), lastPlusOne(byPartition));
    assert.equal(pipeline.inflight, 0);
  });

  test('the model never sees more rows than maxBatchSize, and sees each valid row once', within, async (t) => {
    const byPartition = [goodInputs(0, 0, 23), goodInputs(1, 0, 9), goodInputs(2, 50, 17)];
    const sink = new StubSink();
    const { pipeline, model } = makePipeline(t, { sink, maxBatchSize: 4 });
    pushInChunks(pipeline, byPartition, 10);
    await pipeline.drain();
    assert.ok(model.batchSizes.length > 0);
    assert.ok(Math.max(...model.batchSizes) <= 4, `batch sizes ${model.batchSizes.join(',')}`);
    assert.equal(model.batchSizes.reduce((a, b) => a + b, 0), 49);
    assert.equal(sink.accepted.length, 49);
  });

  test('offsets become committable only after the sink acknowledged their outcomes', within, async (t) => {
    const byPartition = [goodInputs(0, 0, 5), mixedInputs(1, 40, 6), goodInputs(2, 9, 4)];
    const inputs = byPartition.flat();
    const lost: string[] = [];
    const sink = new StubSink({ onAttempt: () => lost.push(...committedWithoutOutcome(pipeline, sink, inputs)) });
    sink.block();
    const { pipeline } = makePipeline(t, { sink, maxBatchSize: 4 });
    pushInChunks(pipeline, byPartition, 3);
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(pipeline.tracker.uncommitted(), [], 'nothing committable while the first send is unacknowledged');
    assert.equal(pipeline.inflight, inputs.length);
    sink.release();
    const expected = lastPlusOne(byPartition);
    await waitFor(() => JSON.stringify(committable(pipeline)) === JSON.stringify(expected), { what: 'every partition committable to its end' });
    assert.equal(sink.accepted.length, inputs.length);
    await pipeline.drain();
    assert.deepEqual([...lost, ...committedWithoutOutcome(pipeline, sink, inputs)], []);
  });

  test('a sink that fails twice then succeeds: nothing committable before, everything after, no duplicates', within, async (t) => {
    const byPartition = [mixedInputs(0, 0, 4), goodInputs(1, 0, 4), goodInputs(2, 0, 4)];
    const snapshots: string[] = [];
    const health: boolean[] = [];
    const sink = new StubSink({
      failWhen: (attempt) => attempt <= 2,
      onAttempt: () => snapshots.push(JSON.stringify(pipeline.tracker.uncommitted())),
    });
    const { pipeline } = makePipeline(t, { sink, onSinkHealth: (healthy) => health.push(healthy) });
    pushInChunks(pipeline, byPartition, 4);
    await pipeline.drain();

    assert.equal(sink.failures, 2);
    assert.deepEqual(snapshots, ['[]', '[]', '[]'], 'one batch, three attempts, nothing committable before the third succeeded');
    assert.deepEqual(committable(pipeline), lastPlusOne(byPartition));
    const keys = sink.accepted.map(sourceKey);
    assert.equal(keys.length, 12);
    assert.equal(new Set(keys).size, 12, 'no duplicates');
    for (const [p, offsets] of offsetsByPartition(sink.accepted)) assert.deepEqual(offsets, ['0', '1', '2', '3'], `partition ${p}`);
    assert.deepEqual(health, [false, true]);
    assert.equal(pipeline.sinkHealthy, true);
  });

  test('a write left unanswered for sinkStallMs: sinkHealthy false until it settles', within, async (t) => {
    let now = NOW;
    const sink = new StubSink();
    sink.block();
    const { pipeline } = makePipeline(t, { sink, now: () => now, sinkStallMs: 5000 });
    pipeline.push(goodInputs(0, 0, 4).map((x) => x.record));
    await waitFor(() => sink.held === 1, { what: 'the send is held' });
    now += 4999;
    assert.equal(pipeline.sinkHealthy, true, 'not before sinkStallMs');
    now += 1;
    assert.equal(pipeline.sinkHealthy, false, 'unanswered for sinkStallMs');
    sink.release();
    await pipeline.drain();
    assert.equal(pipeline.sinkHealthy, true, 'answered');
    assert.equal(sink.accepted.length, 4);
  });

  test('backpressure: pause at maxInflightRecords, resume once acknowledged', within, async (t) => {
    const inputs = goodInputs(0, 0, 25);
    const events: boolean[] = [];
    const sink = new StubSink();
    sink.block();
    const { pipeline } = makePipeline(t, { sink, maxInflightRecords: 10, maxBatchSize: 5, onBackpressure: (paused) => events.push(paused) });
    for (let i = 0; i < 25; i += 5) pipeline.push(inputs.slice(i, i + 5).map((x) => x.record));
    assert.deepEqual(events, [true]);
    assert.equal(pipeline.paused, true);
    assert.equal(pipeline.inflight, 25);
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(events, [true], 'still paused while nothing is acknowledged');
    sink.release();
    await waitFor(() => pipeline.inflight === 0, { what: 'everything acknowledged' });
    assert.deepEqual(events, [true, false]);
    assert.equal(pipeline.paused, false);
    assert.equal(sink.accepted.length, 25);
    await pipeline.drain();
  });

  test('flushes made while a send runs go out together in the next send, in flush order', within, async (t) => {
    const inputs = goodInputs(0, 0, 20);
    const sends: string[][] = [];
    const sink = new StubSink({ onAttempt: (messages) => sends.push(messages.map((m) => header(m, Header.sourceOffset))) });
    sink.block();
    const { pipeline, model } = makePipeline(t, { sink, maxBatchSize: 4 });
    await flushFourBehindAHeldWrite(pipeline, model, inputs, () => sink.held === 1);
    sink.release();
    await pipeline.drain();
    assert.deepEqual(sends, [offsets(0, 4), offsets(4, 20)], 'one send for the first flush, one for the four behind it');
    assert.deepEqual(committable(pipeline), { 0: '20' });
  });

  test('a prediction too large for the output topic becomes an OUTCOME_TOO_LARGE dead letter; the stream goes on', within, async (t) => {
    const inputs = goodInputs(0, 0, 6);
    const sink = new StubSink();
    const limits = { output: 200, deadLetter: 1_048_588 }; // no prediction (≈ 110-byte value + lineage) fits 200 bytes
    const { pipeline } = makePipeline(t, { sink, target: { outputTopic: OUTPUT, deadLetterTopic: DLQ, signature, backend: 'cpu', maxMessageBytes: limits } });
    pipeline.push(inputs.map((x) => x.record));
    await pipeline.drain();
    assert.equal(sink.accepted.length, 6);
    for (const m of sink.accepted) {
      assert.equal(m.topic, DLQ);
      assert.equal(header(m, Header.errorCode), ErrorCodes.OUTCOME_TOO_LARGE);
      assert.equal(header(m, Header.errorStage), 'encode');
      assert.match(header(m, Header.errorMessage), /predictions's max\.message\.bytes \(200\)/);
    }
    assert.deepEqual(committable(pipeline), { 0: '6' });
  });

  test('drain() resolves only after everything is acknowledged', within, async (t) => {
    const byPartition = [goodInputs(0, 0, 6), mixedInputs(1, 0, 6), goodInputs(2, 0, 6)];
    const sink = new StubSink();
    sink.block();
    const { pipeline } = makePipeline(t, { sink, maxBatchSize: 4, maxBatchDelayMs: 60_000 });
    pushInChunks(pipeline, byPartition, 6);
    let drained = false;
    const draining = pipeline.drain().then(() => void (drained = true));
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.equal(drained, false);
    sink.release();
    await draining;
    assert.equal(sink.accepted.length, 18);
    assert.equal(pipeline.inflight, 0);
    assert.deepEqual(committable(pipeline), lastPlusOne(byPartition));
  });

  test('drain() with nothing pushed resolves', within, async (t) => {
    const sink = new StubSink();
    const { pipeline } = makePipeline(t, { sink });
    await pipeline.drain();
    assert.equal(sink.attempts, 0);
  });

  test('abort() during failing sends leaves those offsets uncommitted', within, async (t) => {
    const inputs = goodInputs(0, 0, 12);
    const sink = new StubSink({ failWhen: (attempt) => attempt >= 2 });
    const { pipeline } = makePipeline(t, { sink, maxBatchSize: 5 });
    pipeline.push(inputs.map((i) => i.record));
    await waitFor(() => sink.failures >= 3, { what: 'the second batch to fail repeatedly' });
    pipeline.abort();
    await pipeline.drain();
    assert.deepEqual(sink.accepted.map((m) => header(m, Header.sourceOffset)), ['0', '1', '2', '3', '4']);
    assert.deepEqual(pipeline.tracker.uncommitted(), [{ topic: TOPIC, partition: 0, offset: '5' }]);
    assert.equal(pipeline.tracker.pendingCount(TOPIC, 0), 7, 'the unwritten records still have no outcome');
  });

  test('records re-fetched while in flight are skipped: still one outcome each', within, async (t) => {
    const inputs = goodInputs(0, 0, 6);
    const sink = new StubSink();
    sink.block();
    const { pipeline } = makePipeline(t, { sink });
    pipeline.push(inputs.slice(0, 4).map((i) => i.record));
    pipeline.push(inputs.map((i) => i.record)); // a rebalance re-delivers 0..3 along with 4..5
    assert.equal(pipeline.skippedRefetches, 4);
    assert.equal(pipeline.inflight, 6);
    sink.release();
    await pipeline.drain();
    assert.deepEqual(sink.accepted.map((m) => header(m, Header.sourceOffset)), ['0', '1', '2', '3', '4', '5']);
    assert.deepEqual(committable(pipeline), { 0: '6' });
  });

  test('passOver (a control record) moves the committable position past it once earlier outcomes are acknowledged', within, async (t) => {
    const inputs = goodInputs(0, 0, 3);
    const sink = new StubSink();
    sink.block();
    const { pipeline } = makePipeline(t, { sink });
    pipeline.push(inputs.map((i) => i.record));
    pipeline.passOver(TOPIC, 0, '3');
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(pipeline.tracker.uncommitted(), []);
    sink.release();
    await pipeline.drain();
    assert.deepEqual(committable(pipeline), { 0: '4' });
    assert.equal(sink.accepted.length, 3, 'a control record has no outcome');
  });
});

/** Offsets `from` (inclusive) to `to` (exclusive), as strings. */
const offsets = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => String(from + k));

/**
 * Pushes offsets 0-3 and waits until their write is held by the sink (`held`), then pushes 4-19 as four more
 * flushes (maxBatchSize 4), each scored while that write is still held.
 */
async function flushFourBehindAHeldWrite(pipeline: Pipeline, model: StubModel, inputs: { record: InputRecord }[], held: () => boolean): Promise<void> {
  pipeline.push(inputs.slice(0, 4).map((x) => x.record));
  await waitFor(held, { what: 'the first write to reach the blocked sink' });
  for (let i = 4; i < 20; i += 4) {
    pipeline.push(inputs.slice(i, i + 4).map((x) => x.record));
    await waitFor(() => model.batchSizes.length === i / 4 + 1, { what: `the flush of offsets ${i}-${i + 3} scored` });
  }
}

/** Records committed transactions; rejects chosen attempts (retryable: nothing written). */
class StubTransactionalSink implements TransactionalSink {
  readonly committed: PartitionCommit[] = [];
  attempts = 0;
  failures = 0;
  #healed = false;
  #gate: Promise<void> | null = null;
  #open: () => void = () => {};
  /** Commits waiting at the gate. */
  held = 0;
  constructor(private readonly failWhen: (attempt: number) => boolean = () => false) {}

  heal(): void {
    this.#healed = true;
    this.release();
  }

  /** Holds every commit until release(). */
  block(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#gate = null;
    this.#open();
  }

  async commit(commit: PartitionCommit): Promise<void> {
    if (this.#gate) {
      this.held++;
      await this.#gate;
    }
    const attempt = ++this.attempts;
    if (!this.#healed && this.failWhen(attempt)) {
      this.failures++;
      throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `transaction ${attempt} aborted`, { retryable: true });
    }
    this.committed.push(commit);
  }
}

describe('Pipeline with a transactional sink (exactly-once)', () => {
  function makeTxPipeline(t: TestContext, sink: StubTransactionalSink, overrides: Partial<PipelineOptions> = {}): Pipeline {
    const pipeline = new Pipeline({
      decoder: rawAvroDecoder(inType),
      encoder: avroPredictionEncoder(outType, signature),
      transactionalSink: sink,
      target: { outputTopic: OUTPUT, deadLetterTopic: DLQ, signature, backend: 'cpu' },
      model: stubModel(),
      maxBatchSize: 64,
      maxBatchDelayMs: 5,
      maxInflightRecords: 10_000,
      logger: silentLogger,
      inferRetries: 0,
      sinkBackoffMs: 1,
      sinkMaxBackoffMs: 4,
      now: () => NOW,
      ...overrides,
    });
    t.after(() => {
      pipeline.abort();
      sink.heal();
    });
    return pipeline;
  }

  test('each partition commits its own outcomes, in order, with the next offset', within, async (t) => {
    const byPartition = [mixedInputs(0, 0, 9), goodInputs(1, 100, 6)];
    const sink = new StubTransactionalSink();
    const pipeline = makeTxPipeline(t, sink, { maxBatchSize: 4 });
    pushInChunks(pipeline, byPartition, 5);
    await pipeline.drain();
    for (const inputs of byPartition) {
      const p = inputs[0]!.record.partition;
      const commits = sink.committed.filter((c) => c.source.partition === p);
      const messages = commits.flatMap((c) => c.messages);
      assert.deepEqual(messages.map((m) => header(m, Header.sourceOffset)), inputs.map((i) => i.record.offset), `partition ${p}`);
      for (const c of commits) {
        const last = c.messages.at(-1)!;
        assert.equal(c.nextOffset, String(Number(header(last, Header.sourceOffset)) + 1));
      }
      assert.equal(pipeline.tracker.committedOffset(TOPIC, p), lastPlusOne(byPartition)[p]);
    }
    assert.deepEqual(pipeline.tracker.uncommitted(), []);
  });

  test('flushes made while a transaction runs commit together in the next one, in order, with the next offset', within, async (t) => {
    const inputs = goodInputs(0, 0, 20);
    const sink = new StubTransactionalSink();
    sink.block();
    const model = stubModel();
    const pipeline = makeTxPipeline(t, sink, { maxBatchSize: 4, model });
    await flushFourBehindAHeldWrite(pipeline, model, inputs, () => sink.held === 1);
    sink.release();
    await pipeline.drain();
    assert.deepEqual(
      sink.committed.map((c) => [c.messages.map((m) => header(m, Header.sourceOffset)), c.nextOffset]),
      [[offsets(0, 4), '4'], [offsets(4, 20), '20']],
      'one transaction for the first flush, one for the four behind it',
    );
    assert.equal(pipeline.tracker.committedOffset(TOPIC, 0), '20');
  });

  test('abort() during failing transactions leaves those offsets uncommitted', within, async (t) => {
    const inputs = goodInputs(0, 0, 12);
    const sink = new StubTransactionalSink((attempt) => attempt >= 2);
    const pipeline = makeTxPipeline(t, sink, { maxBatchSize: 5 });
    pipeline.push(inputs.map((i) => i.record));
    await waitFor(() => sink.failures >= 3, { what: 'the second transaction to fail repeatedly' });
    pipeline.abort();
    await pipeline.drain();
    assert.deepEqual(sink.committed.flatMap((c) => c.messages.map((m) => header(m, Header.sourceOffset))), ['0', '1', '2', '3', '4']);
    assert.equal(pipeline.tracker.committedOffset(TOPIC, 0), '5');
    // What the source would still commit on shutdown (Source.flushCommits commits tracker.uncommitted()):
    // nothing, since no transaction holding offsets 5.. committed.
    assert.deepEqual(pipeline.tracker.uncommitted(), []);
    assert.equal(pipeline.tracker.pendingCount(TOPIC, 0), 7);
  });
});
