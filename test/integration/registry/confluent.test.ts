/**
 * WIRE_FORMAT=confluent and OUTPUT_WIRE_FORMAT=confluent against the real broker and a real Schema Registry
 * (SCHEMA_REGISTRY_URL, else Apicurio from Maven Central), with Confluent's own Python serializer writing the inputs
 * and its deserializer reading the predictions: schema evolution v1 → v2 → v3 under FULL compatibility while
 * streamserve runs, every new kind of poison with its code, and the startup preflight.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { App } from '../../../src/app.js';
import { frameHeader } from '../../../src/codec/confluentFrame.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { Header } from '../../../src/kafka/headers.js';
import { borehole, sampleBoreholeInputs, type BoreholeInput } from '../../../src/model/borehole.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { createTestTopics, testBrokers, testConfig, testLogger, testTopics, type TestTopics } from '../support/app.js';
import { headerString, readAll, waitFor } from '../../support/kafka.js';
import { resolveTestRegistry, type TestRegistry } from '../../support/registry.js';
import { confluentPython, pythonConsume, pythonProduce, type PythonBatch } from '../../support/confluentPython.js';
import { publish } from '../../fault/support/inputs.js';
import { caughtUp } from '../../fault/support/inprocess.js';

const PARTITIONS = 3;
const PER_VERSION = 200;
const V1 = JSON.parse(readFileSync('schemas/borehole-input.avsc', 'utf8')) as { fields: { name: string }[] } & Record<string, unknown>;
/** v2: a field appended, with a default. */
const V2 = { ...V1, fields: [...V1.fields, { name: 'site', type: ['null', 'string'], default: null }] };
/** v3: the fields in another order (model inputs reversed, id last) and one more added with a default. */
const V3 = {
  ...V1,
  fields: [
    { name: 'sensor', type: 'string', default: 'unknown' },
    ...[...V2.fields].reverse().filter((f) => f.name !== 'id'),
    V1.fields.find((f) => f.name === 'id')!,
  ],
};

let registry: TestRegistry;
let client: RegistryClient;

before(async () => {
  confluentPython(); // installs Confluent's client into .cache/venv on first use; a failure fails the file
  registry = await resolveTestRegistry();
  client = new RegistryClient({ urls: [registry.url], timeoutMs: 10_000 });
});

after(async () => {
  client?.close();
  await registry?.stop();
});

function confluentConfig(topics: TestTopics, flags: Record<string, string> = {}) {
  return testConfig(topics, {
    'wire-format': 'confluent',
    'output-wire-format': 'confluent',
    'schema-registry-url': registry.url,
    'schema-registry-timeout-ms': '5000',
    ...flags,
  });
}

function inputsOf(version: number, count: number, prefix: string): { key: string; value: Record<string, unknown>; x: BoreholeInput }[] {
  return sampleBoreholeInputs(count, 100 + version).map((x, i) => {
    const id = `${prefix}-v${version}-${i}`;
    const extra = version === 1 ? {} : version === 2 ? { site: `site-${i % 7}` } : { site: null, sensor: `s${i % 3}` };
    return { key: id, value: { id, event_time: 1_700_000_000_000 + i, ...x, ...extra }, x };
  });
}

async function startApp(config: ReturnType<typeof confluentConfig>): Promise<App> {
  const app = new App({ config, logger: testLogger(config) });
  await app.start();
  return app;
}

describe('schema evolution: Confluent serializer in, Confluent deserializer out', () => {
  const topics = testTopics('registry-evolution');
  let app: App | undefined;

  after(async () => {
    await app?.stop();
  });

  test('v1, then v2 (a field added), then v3 (reordered, another added) under FULL: one right prediction per input', async (t) => {
    await createTestTopics(topics, PARTITIONS, { after: (fn) => t.after(fn) });
    const versions = [1, 2, 3].map((v) => inputsOf(v, PER_VERSION, 'evo'));
    const truth = new Map(versions.flat().map((r) => [r.key, borehole(r.x)]));
    const batch = (v: number): PythonBatch => ({ schema: [V1, V2, V3][v - 1]!, records: versions[v - 1]!.map(({ key, value }) => ({ key, value })) });

    // v1 exists before streamserve starts (the preflight reads it); v2 and v3 arrive while it runs: producers evolve first.
    const [id1] = await pythonProduce(testBrokers(), registry.url, topics.input, [batch(1)]);
    await client.setCompatibility('FULL', `${topics.input}-value`); // (Apicurio: only once the subject exists)
    const config = confluentConfig(topics);
    app = await startApp(config);
    const [id2, id3] = await pythonProduce(testBrokers(), registry.url, topics.input, [batch(2), batch(3)]);
    assert.equal(new Set([id1, id2, id3]).size, 3, `three schema ids (${id1}, ${id2}, ${id3})`);
    await waitFor(() => app!.status().counts.predictions + app!.status().counts.deadLetters >= 3 * PER_VERSION, {
      timeoutMs: 120_000,
      intervalMs: 200,
      message: 'an outcome for every input',
    });
    await caughtUp(app, testBrokers(), PARTITIONS);

    const read = await pythonConsume(testBrokers(), registry.url, topics.output, 3 * PER_VERSION + 1, 20);
    assert.equal(read.length, 3 * PER_VERSION, 'exactly one prediction per input');
    const outputId = (await client.latest(`${topics.output}-value`)).id;
    const seen = new Set<string>();
    for (const r of read) {
      const p = r.value as { id: string; flow_rate: number; model_name: string };
      assert.equal(r.schemaId, outputId, 'framed with the output subject schema id');
      assert.equal(r.key, p.id);
      assert.ok(!seen.has(p.id), `${p.id} predicted twice`);
      seen.add(p.id);
      const expected = truth.get(p.id);
      assert.ok(expected !== undefined, `prediction for unknown id ${p.id}`);
      assert.ok(Math.abs(p.flow_rate - expected) / expected < 0.1, `${p.id}: ${p.flow_rate} against ${expected}`);
      assert.equal(p.model_name, 'borehole');
    }
    assert.equal((await readAll(testBrokers(), topics.dlq)).length, 0, 'no dead letters');
  });
});

describe('poison of every new kind gets its own code', () => {
  const topics = testTopics('registry-poison');

  test('not framed, too short, unknown id, unresolvable writer schema: dead letters with the input unchanged', async (t) => {
    await createTestTopics(topics, 1, { after: (fn) => t.after(fn) });
    const reader = avro.Type.forSchema(V1 as avro.Schema);
    const goodId = await client.register(`${topics.input}-value`, JSON.stringify(V1));
    // The same record name with Tu as a string, under a subject of its own (the input subject would refuse it).
    const badSchema = { ...V1, fields: V1.fields.map((f) => (f.name === 'Tu' ? { name: 'Tu', type: 'string' } : f)) };
    const badId = await client.register(`${topics.input}-incompatible`, JSON.stringify(badSchema));
    const unknownId = 987_654;
    const good = inputsOf(1, 3, 'poison');
    const body = reader.toBuffer(good[0]!.value);
    const poison: [string, Buffer, string, number | undefined][] = [
      ['raw', body, ErrorCodes.NOT_REGISTRY_FRAMED, undefined],
      ['short', Buffer.from([0, 0, 1]), ErrorCodes.NOT_REGISTRY_FRAMED, undefined],
      ['unknown', Buffer.concat([frameHeader(unknownId), body]), ErrorCodes.UNKNOWN_SCHEMA_ID, unknownId],
      ['incompatible', Buffer.concat([frameHeader(badId), avro.Type.forSchema(badSchema as avro.Schema).toBuffer({ ...good[0]!.value, Tu: 'x' })]), ErrorCodes.INCOMPATIBLE_SCHEMA, badId],
      ['truncated', Buffer.concat([frameHeader(goodId), body.subarray(0, 10)]), ErrorCodes.UNDECODABLE_VALUE, goodId],
    ];
    const messages = [
      ...poison.map(([key, value]) => ({ key, value })),
      ...good.map((g) => ({ key: g.key, value: Buffer.concat([frameHeader(goodId), reader.toBuffer(g.value)]) })),
    ];
    await publish(testBrokers(), topics.input, messages);
    const app = await startApp(confluentConfig(topics));
    t.after(() => app.stop().then(() => undefined));
    await caughtUp(app, testBrokers(), 1);

    const dead = await readAll(testBrokers(), topics.dlq);
    assert.equal(dead.length, poison.length);
    for (const [key, value, code, schemaId] of poison) {
      const m = dead.find((d) => d.key?.toString() === key);
      assert.ok(m, `a dead letter for ${key}`);
      assert.equal(headerString(m.headers, Header.errorCode), code, `${key}: code`);
      assert.equal(headerString(m.headers, Header.errorStage), 'decode', `${key}: stage`);
      assert.equal(headerString(m.headers, Header.errorSchemaId), schemaId === undefined ? undefined : String(schemaId), `${key}: schema id header`);
      assert.deepEqual(m.value, value, `${key}: the input bytes unchanged`);
    }
    const predictions = await readAll(testBrokers(), topics.output);
    assert.deepEqual(predictions.map((p) => p.key?.toString()).sort(), good.map((g) => g.key).sort());
  });
});

describe('startup preflight', () => {
  test('a latest input schema that cannot feed the model stops startup with SCHEMA_INVALID naming the field', async (t) => {
    const topics = testTopics('registry-preflight');
    await createTestTopics(topics, 1, { after: (fn) => t.after(fn) });
    const subject = `${topics.input}-value`;
    // The subject's first and only version (a registry's compatibility rule would refuse it after V1).
    const broken = { ...V1, fields: V1.fields.filter((f) => f.name !== 'rw').map((f) => (f.name === 'Tu' ? { name: 'Tu', type: 'string' } : f)) };
    await client.register(subject, JSON.stringify(broken));
    const app = new App({ config: confluentConfig(topics), logger: testLogger(confluentConfig(topics)) });
    t.after(() => app.stop().then(() => undefined));
    await assert.rejects(app.start(), (err: unknown) => {
      assert.ok(err instanceof StreamserveError);
      assert.equal(err.code, ErrorCodes.SCHEMA_INVALID);
      assert.match(err.message, new RegExp(`input subject ${subject}`));
      assert.match(err.message, /field Tu: written as "string", which cannot be read as \["null","double"\]/);
      assert.match(err.message, /field rw: not in the writer schema/);
      return true;
    });
  });

  test('AUTO_REGISTER_SCHEMAS=false with the prediction schema not registered stops startup naming the subject', async (t) => {
    const topics = testTopics('registry-noauto');
    await createTestTopics(topics, 1, { after: (fn) => t.after(fn) });
    const config = confluentConfig(topics, { 'auto-register-schemas': 'false', 'wire-format': 'raw' });
    const app = new App({ config, logger: testLogger(config) });
    t.after(() => app.stop().then(() => undefined));
    await assert.rejects(app.start(), new RegExp(`subject ${topics.output}-value: it is not registered there, and AUTO_REGISTER_SCHEMAS=false`));
    await client.register(`${topics.output}-value`, JSON.stringify(JSON.parse(readFileSync('schemas/borehole-prediction.avsc', 'utf8'))));
    const again = new App({ config, logger: testLogger(config) });
    t.after(() => again.stop().then(() => undefined));
    await again.start();
    assert.equal(again.state, 'running');
  });
});
