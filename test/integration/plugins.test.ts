/**
 * The "Where to add" lists of docs/ARCHITECTURE.md, proved: a new wire format and a new model runtime plug into the
 * real pipeline (broker, scorer, outcomes, dead letters, lineage) without changing any existing file. Both plug-ins
 * below exist only in this test file — a JSON `InputDecoder` handed to `new App({ decoder })` and a constant
 * `ModelRuntime` handed in through `loadModel`. A production wire format or runtime adds its own file plus the few
 * registrations docs/ARCHITECTURE.md lists (`WireFormats` + one case in `src/app.ts`; one row in
 * `src/model/runtimes.ts`), nothing else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { App } from '../../src/app.js';
import { loadAvroSchema } from '../../src/codec/schema.js';
import type { InputDecoder } from '../../src/codec/inputDecoder.js';
import { ErrorCodes, RecordError, messageOf } from '../../src/errors.js';
import type { ModelRuntime, RuntimeLoader } from '../../src/model/model.js';
import { loadSignature, unscaleOutput } from '../../src/model/signature.js';
import { sampleBoreholeInputs } from '../../src/model/borehole.js';
import { createKafka as createAppKafka } from '../../src/kafka/client.js';
import { InputProducer, type InputMessage } from '../../src/kafka/inputProducer.js';
import { Header } from '../../src/kafka/headers.js';
import type { InputFields } from '../../src/scorer/outcome.js';
import { headerString, readAll, waitFor, type ReadMessage } from '../support/kafka.js';
import { createTestTopics, getJson, testBrokers, testConfig, testLogger, testTopics } from './support/app.js';

// ---- Plug-in 1: a JSON wire format ------------------------------------------------------------------------------

/** Kafka value = one UTF-8 JSON object whose properties are the input's fields. */
const jsonDecoder: InputDecoder = {
  decode(value) {
    if (value === null || value.length === 0) {
      throw new RecordError('decode', ErrorCodes.EMPTY_VALUE, value === null ? 'value is null' : 'value is empty');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(value.toString('utf8'));
    } catch (err) {
      throw new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `not JSON: ${messageOf(err)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, 'not a JSON object');
    }
    return parsed as InputFields;
  },
};

// ---- Plug-in 2: a constant model runtime ------------------------------------------------------------------------

/** The raw (scaled-space) output of every row; exactly representable in float32. */
const RAW_OUTPUT = 0.25;
const RUNTIME = 'constant';

/** Rows the constant model was asked to score, to show the scorer really went through it. */
let rowsScored = 0;

const loadConstantModel: RuntimeLoader = async ({ dir }) => {
  const signature = await loadSignature(join(dir, 'signature.json'));
  let closed = false;
  const model: ModelRuntime = {
    signature,
    runtime: RUNTIME,
    inputWidth: signature.inputs.length,
    outputWidth: signature.outputs.length,
    predict(rows, count) {
      if (closed) return Promise.reject(new Error('constant model is closed'));
      if (rows.length !== count * model.inputWidth) return Promise.reject(new Error(`expected ${count} rows of ${model.inputWidth}`));
      rowsScored += count;
      return Promise.resolve(new Float32Array(count * model.outputWidth).fill(RAW_OUTPUT));
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  return model;
};

// ---- The test ---------------------------------------------------------------------------------------------------

const GOOD = 200;
const PARTITIONS = 2;

interface Status {
  runtime: string;
  counts: { recordsIn: number; predictions: number; deadLetters: number };
  assignments: { lag: number | null }[];
}

describe('plug-ins from outside src/: a JSON wire format and a constant model runtime', () => {
  const topics = testTopics('plugins');
  const config = testConfig(topics);
  const logger = testLogger(config);
  const prefix = topics.input;
  let app: App | undefined;
  const good = new Map<string, InputFields>();
  /** Bad input id → the dead-letter code it must get. */
  const bad = new Map<string, string>();
  let predictions: ReadMessage[];
  let deadLetters: ReadMessage[];

  before(async () => {
    await createTestTopics(topics, PARTITIONS, { after });

    const messages: InputMessage[] = [];
    const json = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify(fields), 'utf8');
    sampleBoreholeInputs(GOOD, 7).forEach((sample, i) => {
      const id = `${prefix}-good-${i}`;
      const fields = { id, event_time: 1_700_000_000_000 + i, ...sample };
      good.set(id, fields);
      messages.push({ key: id, value: json(fields) });
    });
    const [sample] = sampleBoreholeInputs(1, 8);
    const base = (id: string) => ({ id, event_time: 1_700_000_000_000, ...sample! });
    const addBad = (id: string, code: string, value: Buffer | null): void => {
      bad.set(id, code);
      messages.push({ key: id, value });
    };
    addBad(`${prefix}-not-json`, ErrorCodes.UNDECODABLE_VALUE, Buffer.from('{"id": "oops", rw: 0.1', 'utf8'));
    addBad(`${prefix}-empty`, ErrorCodes.EMPTY_VALUE, null);
    const { Kw: _dropped, ...withoutKw } = base(`${prefix}-missing`);
    addBad(`${prefix}-missing`, ErrorCodes.MISSING_FIELD, json(withoutKw));
    addBad(`${prefix}-out-of-range`, ErrorCodes.OUT_OF_RANGE, json({ ...base(`${prefix}-out-of-range`), rw: 0.5 }));

    const producer = new InputProducer(createAppKafka({ ...config, brokers: testBrokers() }, logger), config.inputTopic);
    await producer.start();
    try {
      await producer.send(messages);
    } finally {
      await producer.close();
    }

    app = new App({ config, logger, decoder: jsonDecoder, loadModel: loadConstantModel });
    await app.start();
    const port = app.adminPort!;
    const total = GOOD + bad.size;
    await waitFor(
      async () => {
        const { body } = await getJson<Status>(port, '/status');
        const c = body.counts;
        return c.predictions + c.deadLetters === total && body.assignments.length === PARTITIONS && body.assignments.every((a) => a.lag === 0);
      },
      { timeoutMs: 60_000, intervalMs: 200, message: `all ${total} outcomes committed` },
    );
    predictions = await readAll(testBrokers(), topics.output, { timeoutMs: 30_000 });
    deadLetters = await readAll(testBrokers(), topics.dlq, { timeoutMs: 30_000 });
  });

  after(async () => {
    await app?.stop();
  });

  test('one prediction per good input id, carrying the constant output unscaled by the signature', async () => {
    const signature = await loadSignature('weights/borehole/signature.json');
    const column = signature.outputs[0]!;
    const expected = unscaleOutput(column, RAW_OUTPUT);
    const outputType = await loadAvroSchema('schemas/borehole-prediction.avsc');

    assert.equal(predictions.length, GOOD);
    const seen = new Set<string>();
    for (const m of predictions) {
      const p = outputType.fromBuffer(m.value!) as { id: string; flow_rate: number; model_name: string; model_version: string; event_time: number };
      assert.ok(good.has(p.id), `prediction for unknown or bad id ${p.id}`);
      assert.ok(!seen.has(p.id), `prediction for ${p.id} twice`);
      seen.add(p.id);
      assert.equal(m.key!.toString(), p.id);
      assert.equal(p.flow_rate, expected, `${p.id}: flow_rate`);
      assert.equal(p.model_name, signature.name);
      assert.equal(p.model_version, signature.version);
      assert.equal(p.event_time, good.get(p.id)!.event_time, `${p.id}: event_time from the JSON value`);
      assert.equal(headerString(m.headers, Header.runtime), RUNTIME, `${p.id}: lineage runtime header`);
      assert.equal(headerString(m.headers, Header.sourceTopic), topics.input);
    }
    assert.equal(seen.size, GOOD);
    assert.ok(rowsScored >= GOOD, `the constant model scored ${rowsScored} rows`);
  });

  test('each bad input is a dead letter with its error code', () => {
    assert.equal(deadLetters.length, bad.size);
    const codes = new Map(deadLetters.map((m) => [m.key!.toString(), headerString(m.headers, Header.errorCode)]));
    assert.deepEqual(codes, bad);
  });

  test('/status names the plugged-in runtime', async () => {
    const { body } = await getJson<Status>(app!.adminPort!, '/status');
    assert.equal(body.runtime, RUNTIME);
    assert.equal(body.counts.predictions, GOOD);
    assert.equal(body.counts.deadLetters, bad.size);
  });
});
