/**
 * The Schema Registry being away is not poison (issue 14), against the real broker and a real Apicurio Registry that
 * this test owns and makes hang (SIGSTOP: connections are accepted, nothing is answered). The records that arrive
 * during the outage are framed with a schema id registered before it, which streamserve has not seen yet, so the
 * registry is really needed: nothing is dead-lettered or committed past, /readyz answers 503 naming the registry, and
 * after SIGCONT every input is scored once, by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { frameHeader } from '../../src/codec/confluentFrame.js';
import { RegistryClient } from '../../src/registry/client.js';
import { sampleBoreholeInputs } from '../../src/model/borehole.js';
import { createTestTopics, getText, metricValue, testBrokers, testTopics } from '../integration/support/app.js';
import { readAll } from '../support/kafka.js';
import { startOwnRegistry } from '../support/registry.js';
import { caughtUp, faultConfig, startApp } from './support/inprocess.js';
import { publish } from './support/inputs.js';
import { committedOffsets, committedOnly, readyz } from './support/outage.js';
import { GUARANTEES } from './support/tally.js';
import { poll } from './support/wait.js';

const PARTITIONS = 3;
const BEFORE = 600;
const DURING = 300;
/** /readyz must answer 503 this soon after records that need the hung registry arrive. */
const TO_503_MS = 15_000;
/** Samples of the outage (one a second) in which nothing may be dead-lettered or committed. */
const OUTAGE_SAMPLES = 4;

const V1 = JSON.parse(readFileSync('schemas/borehole-input.avsc', 'utf8')) as { fields: object[] } & Record<string, unknown>;
const V2 = { ...V1, fields: [...V1.fields, { name: 'site', type: ['null', 'string'], default: null }] };

function framed(id: number, schema: object, count: number, seed: number, prefix: string): { key: string; value: Buffer }[] {
  const type = avro.Type.forSchema(schema as avro.Schema);
  return sampleBoreholeInputs(count, seed).map((x, i) => {
    const key = `${prefix}-${i}`;
    return { key, value: Buffer.concat([frameHeader(id), type.toBuffer({ id: key, event_time: Date.now(), ...x, ...(schema === V2 ? { site: 'a' } : {}) })]) };
  });
}

for (const mode of GUARANTEES) {
  test(`a hung registry (SIGSTOP) with records of an id not yet seen: paused, /readyz 503, nothing dead-lettered or committed; all scored once after SIGCONT (${mode})`, async (t) => {
    const brokers = testBrokers();
    const registry = await startOwnRegistry();
    t.after(() => registry.stop());
    const client = new RegistryClient({ urls: [registry.url], timeoutMs: 10_000 });
    t.after(() => client.close());
    const topics = testTopics(`registry-outage-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const subject = `${topics.input}-value`;
    const id1 = await client.register(subject, JSON.stringify(V1));
    await publish(brokers, topics.input, framed(id1, V1, BEFORE, 1, 'before'), 100);

    const config = faultConfig(topics, mode, {
      'wire-format': 'confluent',
      'output-wire-format': 'confluent',
      'schema-registry-url': registry.url,
      'schema-registry-timeout-ms': '1000',
      'max-bytes-per-partition': '16384',
    });
    const { app, stop } = await startApp(t, config);
    await caughtUp(app, brokers, PARTITIONS, 120_000);
    assert.equal((await readyz(app.adminPort!)).status, 200);

    // Registered before the outage, never seen by streamserve: its records need the registry.
    const id2 = await client.register(subject, JSON.stringify(V2));
    assert.notEqual(id2, id1);
    const before = committedOnly(await committedOffsets(brokers, topics.group, topics.input));
    registry.pause();
    let resumed = false;
    t.after(() => {
      if (!resumed) registry.resume();
    });
    await publish(brokers, topics.input, framed(id2, V2, DURING, 2, 'during'), 100);

    const answer = await poll(
      async () => {
        const r = await readyz(app.adminPort!);
        return r.status === 503 && r.checks.schemaRegistryReachable === false ? r : null;
      },
      { message: '/readyz 503 with schemaRegistryReachable false', timeoutMs: TO_503_MS, intervalMs: 200 },
    );
    assert.equal(answer.checks.modelHealthy, true, 'only the registry is named');
    assert.equal(metricValue(await getText(app.adminPort!, '/metrics'), 'streamserve_schema_registry_reachable'), 0);
    for (let sample = 0; sample < OUTAGE_SAMPLES; sample++) {
      assert.deepEqual(committedOnly(await committedOffsets(brokers, topics.group, topics.input)), before, 'nothing committed during the outage');
      assert.equal((await readAll(brokers, topics.dlq)).length, 0, 'nothing dead-lettered during the outage');
      assert.equal(app.status().paused, true, 'the input is paused');
      assert.equal(app.status().counts.predictions, BEFORE, 'nothing scored during the outage');
      await new Promise((resolve) => setTimeout(resolve, 1000)); // observation interval, not a wait for a condition
    }

    registry.resume();
    resumed = true;
    await caughtUp(app, brokers, PARTITIONS, 120_000);
    await poll(async () => ((await readyz(app.adminPort!)).status === 200 ? true : null), { message: '/readyz 200 again', timeoutMs: 30_000 });
    assert.equal(metricValue(await getText(app.adminPort!, '/metrics'), 'streamserve_schema_registry_reachable'), 1);
    assert.equal(await stop(), 0);

    const predictions = await readAll(brokers, topics.output);
    const keys = predictions.map((m) => m.key!.toString());
    assert.equal(keys.length, BEFORE + DURING, 'one prediction per input');
    assert.equal(new Set(keys).size, BEFORE + DURING, 'no input scored twice');
    assert.equal(keys.filter((k) => k.startsWith('during-')).length, DURING);
    assert.equal((await readAll(brokers, topics.dlq)).length, 0, 'no dead letters');
  });
}
