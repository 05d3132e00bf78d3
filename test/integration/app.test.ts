import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { loadAvroSchema } from '../../src/codec/schema.js';
import { borehole } from '../../src/model/borehole.js';
import type { DemoInputs } from '../../src/demo/demoInputs.js';
import { Header } from '../../src/kafka/headers.js';
import { headerString, readAll, waitFor, type ReadMessage } from '../support/kafka.js';
import { createTestTopics, getJson, getText, metricValue, publishDemoInputs, testBrokers, testConfig, testLogger, testTopics } from './support/app.js';

const TOTAL = 10_000;
const PARTITIONS = 3;

interface Status {
  state: string;
  runtime: string;
  counts: { recordsIn: number; predictions: number; deadLetters: number; deadLettersByStageAndCode: Record<string, number> };
  assignments: { partition: number; lag: number | null; committedOffset: string | null }[];
}

describe('10,000 inputs over 3 partitions with 1% poison, at-least-once', () => {
  const topics = testTopics('core');
  const config = testConfig(topics);
  const logger = testLogger(config);
  let app: App;
  let inputs: DemoInputs;
  let predictions: ReadMessage[];
  let deadLetters: ReadMessage[];
  let sentAt: Map<string, { partition: number; offset: string; timestamp: string }>;
  let port: number;

  before(async () => {
    await createTestTopics(topics, PARTITIONS, { after });
    inputs = await publishDemoInputs(config, TOTAL, { seed: 11, poisonEvery: 100, prefix: 'core' });

    app = new App({ config, logger });
    await app.start();
    port = app.adminPort!;
    await waitFor(
      async () => {
        const { body } = await getJson<Status>(port, '/status');
        const c = body.counts;
        return c.predictions + c.deadLetters === TOTAL && body.assignments.length === PARTITIONS && body.assignments.every((a) => a.lag === 0);
      },
      { timeoutMs: 120_000, intervalMs: 200, message: 'all 10,000 outcomes committed' },
    );
    predictions = await readAll(testBrokers(), topics.output, { timeoutMs: 60_000 });
    deadLetters = await readAll(testBrokers(), topics.dlq, { timeoutMs: 60_000 });
    const sent = await readAll(testBrokers(), topics.input, { timeoutMs: 60_000 });
    sentAt = new Map(sent.map((m) => [m.key!.toString(), { partition: m.partition, offset: m.offset, timestamp: m.timestamp }]));
  });

  after(async () => {
    await app?.stop();
  });

  test('exactly 9,900 predictions and 100 dead letters, every input id exactly once', () => {
    assert.equal(inputs.valid.size, 9_900);
    assert.equal(inputs.poison.size, 100);
    assert.equal(predictions.length, 9_900);
    assert.equal(deadLetters.length, 100);
    const type = outputType;
    const predicted = predictions.map((m) => (type.fromBuffer(m.value!) as { id: string }).id);
    assert.equal(new Set(predicted).size, 9_900, 'no prediction id twice');
    for (const id of predicted) assert.ok(inputs.valid.has(id), `prediction for unknown or poison id ${id}`);
    const dead = deadLetters.map((m) => m.key!.toString());
    assert.equal(new Set(dead).size, 100, 'no dead letter twice');
    for (const id of dead) assert.ok(inputs.poison.has(id), `dead letter for valid id ${id}`);
  });

  test('predictions are keyed by the input key, carry lineage and match the borehole function', () => {
    const ape: number[] = [];
    for (const m of predictions) {
      const p = outputType.fromBuffer(m.value!) as { id: string; flow_rate: number; model_name: string; model_version: string; event_time: number };
      assert.equal(m.key!.toString(), p.id);
      const source = sentAt.get(p.id)!;
      assert.equal(headerString(m.headers, Header.sourceTopic), topics.input);
      assert.equal(headerString(m.headers, Header.sourcePartition), String(source.partition));
      assert.equal(headerString(m.headers, Header.sourceOffset), source.offset);
      assert.equal(headerString(m.headers, Header.modelVersion), p.model_version);
      assert.equal(headerString(m.headers, Header.runtime), 'tfjs-wasm');
      assert.equal(p.model_name, 'borehole');
      const truth = borehole(inputs.valid.get(p.id)!);
      ape.push(Math.abs(p.flow_rate - truth) / truth);
    }
    const mape = ape.reduce((a, b) => a + b, 0) / ape.length;
    assert.ok(mape <= 0.01, `MAPE ${mape} above 1%`);
    assert.ok(Math.max(...ape) < 0.1, `worst prediction off by ${Math.max(...ape)}`);
  });

  test('outcomes of each input partition are written in input order', () => {
    // Per output partition, the source offsets of each source partition must only grow.
    const last = new Map<string, bigint>();
    for (const m of predictions) {
      const key = `${m.partition}/${headerString(m.headers, Header.sourcePartition)}`;
      const offset = BigInt(headerString(m.headers, Header.sourceOffset)!);
      const prev = last.get(key);
      assert.ok(prev === undefined || offset > prev, `out of order in ${key}: ${offset} after ${prev}`);
      last.set(key, offset);
    }
    const lastDead = new Map<string, bigint>();
    for (const m of deadLetters) {
      const key = headerString(m.headers, Header.sourcePartition)!;
      const offset = BigInt(headerString(m.headers, Header.sourceOffset)!);
      const prev = lastDead.get(key);
      assert.ok(prev === undefined || offset > prev, `dead letters out of order in source partition ${key}`);
      lastDead.set(key, offset);
    }
  });

  test('dead letters keep key, value, headers and timestamp, and name stage, code and source', () => {
    const original = new Map(inputs.messages.map((m) => [m.key as string, m]));
    for (const m of deadLetters) {
      const id = m.key!.toString();
      const kind = inputs.poison.get(id)!;
      const sent = original.get(id)!;
      assert.equal(headerString(m.headers, Header.errorStage), kind.stage, `${kind.name}: stage`);
      assert.equal(headerString(m.headers, Header.errorCode), kind.code, `${kind.name}: code`);
      assert.ok((headerString(m.headers, Header.errorMessage) ?? '').length > 0, `${kind.name}: message`);
      assert.equal(headerString(m.headers, 'demo.kind'), kind.name, 'original headers kept');
      assert.equal(headerString(m.headers, Header.sourceTopic), topics.input);
      assert.equal(headerString(m.headers, Header.sourceOffset), sentAt.get(id)!.offset);
      assert.equal(m.timestamp, sentAt.get(id)!.timestamp, 'original timestamp kept');
      if (sent.value === null) assert.equal(m.value, null);
      else assert.deepEqual(m.value, sent.value, `${kind.name}: value unchanged`);
    }
    const codes = new Set(deadLetters.map((m) => headerString(m.headers, Header.errorCode)));
    for (const kind of new Set([...inputs.poison.values()].map((k) => k.code))) assert.ok(codes.has(kind), `no dead letter with ${kind}`);
  });

  test('the admin endpoints report what is on the topics', async () => {
    const ready = await getJson<{ ready: boolean }>(port, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal((await getJson(port, '/healthz')).status, 200);
    const { body } = await getJson<Status>(port, '/status');
    assert.equal(body.state, 'running');
    assert.equal(body.runtime, 'tfjs-wasm');
    assert.equal(body.counts.recordsIn, TOTAL);
    assert.equal(body.counts.predictions, predictions.length);
    assert.equal(body.counts.deadLetters, deadLetters.length);
    for (const a of body.assignments) assert.equal(a.lag, 0);
    const metrics = await getText(port, '/metrics');
    assert.equal(metricValue(metrics, 'streamserve_predictions_total'), 9_900);
    assert.equal(metricValue(metrics, 'streamserve_dead_letters_total', 'code="OUT_OF_RANGE"'), inputs.poison.size === 100 ? [...inputs.poison.values()].filter((k) => k.code === 'OUT_OF_RANGE').length : -1);
    assert.equal(metricValue(metrics, 'streamserve_consumer_lag', 'partition="0"'), 0);
    assert.match(metrics, /streamserve_model_info\{model="borehole",version="[^"]+",runtime="tfjs-wasm"\} 1/);
    assert.equal(metricValue(metrics, 'streamserve_ready'), 1, 'the ready gauge says what /readyz says');
  });
});

const outputType = await loadAvroSchema('schemas/borehole-prediction.avsc');
