/**
 * A Schema Registry that refuses us mid-run stops `streamserve run` like a Kafka ACL refusal (issue 20), against the
 * real broker and a real Apicurio Registry behind an auth gateway of the test's own (test/support/registryGateway.ts):
 * the gateway forwards everything until it is switched to answer 401 (credentials refused) or 403 (access refused).
 * The records that arrive after the switch are framed with a schema id registered before it, which streamserve has
 * not looked up yet, so their decode really asks the registry, and meets the refusal. The process must exit 1 with
 * AUTHENTICATION_FAILED / AUTHORIZATION_FAILED naming the registry (its URL, credentials redacted), logged once under
 * `err`; nothing may be committed past what was written; nothing of the refused records is scored or dead-lettered.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { frameHeader } from '../../src/codec/confluentFrame.js';
import { sampleBoreholeInputs } from '../../src/model/borehole.js';
import { RegistryClient } from '../../src/registry/client.js';
import { createTestTopics, testBrokers, testTopics } from '../integration/support/app.js';
import { resolveTestRegistry, type TestRegistry } from '../support/registry.js';
import { startRegistryGateway } from '../support/registryGateway.js';
import { publish } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv } from './support/instances.js';
import { committedOffsets, committedWithoutPrediction } from './support/outage.js';
import { readOutcomes } from './support/read.js';
import type { Guarantee, Outcome } from './support/tally.js';
import { poll } from './support/wait.js';

const PARTITIONS = 3;
const BEFORE = 600;
const AFTER = 300;
/** From the switch to the exit: the next fetch of a record framed with the new id asks the registry. */
const EXIT_WITHIN_MS = 30_000;
/** In the registry URL streamserve is given: it must appear nowhere in what streamserve writes. */
const URL_PASSWORD = 'Gateway-pw-7f3a91';

const V1 = JSON.parse(readFileSync('schemas/borehole-input.avsc', 'utf8')) as { fields: object[] } & Record<string, unknown>;
const V2 = { ...V1, fields: [...V1.fields, { name: 'site', type: ['null', 'string'], default: null }] };

function framed(id: number, schema: object, count: number, seed: number, prefix: string): { key: string; value: Buffer }[] {
  const type = avro.Type.forSchema(schema as avro.Schema);
  return sampleBoreholeInputs(count, seed).map((x, i) => {
    const key = `${prefix}-${i}`;
    return { key, value: Buffer.concat([frameHeader(id), type.toBuffer({ id: key, event_time: Date.now(), ...x, ...(schema === V2 ? { site: 'a' } : {}) })]) };
  });
}

const SCENARIOS: { status: 401 | 403; code: string; says: string; mode: Guarantee }[] = [
  { status: 401, code: 'AUTHENTICATION_FAILED', says: 'refused our credentials (HTTP 401', mode: 'at-least-once' },
  { status: 403, code: 'AUTHORIZATION_FAILED', says: 'refused access (HTTP 403', mode: 'at-least-once' },
  { status: 401, code: 'AUTHENTICATION_FAILED', says: 'refused our credentials (HTTP 401', mode: 'exactly-once' },
  { status: 403, code: 'AUTHORIZATION_FAILED', says: 'refused access (HTTP 403', mode: 'exactly-once' },
];

let registry: TestRegistry;
before(async () => {
  registry = await resolveTestRegistry();
});
after(() => registry?.stop());

for (const s of SCENARIOS) {
  test(`the registry answers ${s.status} mid-run, to a schema id not looked up before: exit 1 with ${s.code} naming the registry, logged once, nothing committed past what was written (${s.mode})`, async (t) => {
    const brokers = testBrokers();
    const gateway = await startRegistryGateway(registry.url);
    t.after(() => gateway.close());
    const client = new RegistryClient({ urls: [registry.url], timeoutMs: 10_000 });
    t.after(() => client.close());
    const topics = testTopics(`registry-refusal-${s.status}-${s.mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const subject = `${topics.input}-value`;
    const id1 = await client.register(subject, JSON.stringify(V1));
    await publish(brokers, topics.input, framed(id1, V1, BEFORE, 1, 'before'), 100);

    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const registryUrl = gateway.url.replace('http://', `http://streamserve:${URL_PASSWORD}@`);
    const env = await instanceEnv(brokers, topics, { WIRE_FORMAT: 'confluent', SCHEMA_REGISTRY_URL: registryUrl, MAX_BYTES_PER_PARTITION: '16384' });
    const instance = fleet.run(env, guaranteeArgs(s.mode));
    await instance.waitReady();
    await poll(async () => [...(await committedOffsets(brokers, topics.group, topics.input)).values()].reduce((n, o) => n + o.committed, 0) === BEFORE, {
      message: 'every input before the switch scored and committed',
      timeoutMs: 120_000,
      intervalMs: 200,
      abort: instance.died,
    });

    // Registered before the switch, never seen by streamserve: its records need the registry.
    const id2 = await client.register(subject, JSON.stringify(V2));
    assert.notEqual(id2, id1);
    const lookup = `GET ${new URL(registry.url).pathname.replace(/\/+$/, '')}/schemas/ids/${id2}`;
    assert.ok(!gateway.forwarded.includes(lookup), 'the new id was not looked up before the switch');
    gateway.refuse(s.status);
    await publish(brokers, topics.input, framed(id2, V2, AFTER, 2, 'after'), 100);

    const code = await instance.proc.exitWithin(EXIT_WITHIN_MS, `exit after the registry's ${s.status}`);
    assert.equal(code, 1, `exit code after the refusal; stderr:\n${instance.stderrTail()}`);
    assert.ok(gateway.refused.includes(lookup), `the new id was looked up after the switch, and refused (refused: ${gateway.refused.slice(0, 5).join(', ')})`);
    assert.ok(!gateway.forwarded.includes(lookup), 'and never answered by the registry');

    // Logged once, under `err`, with its code; the message names the registry by its URL, credentials redacted.
    const stderr = instance.proc.stderr();
    const logged = errLines(stderr).filter((e) => e.code === s.code);
    assert.equal(logged.length, 1, `${s.code} logged once under err (got ${logged.length}); stderr:\n${instance.stderrTail()}`);
    const message = String(logged[0]!.message);
    assert.ok(message.includes(`the Schema Registry at ${gateway.url.replace('http://', 'http://[redacted]@')} ${s.says}`), message);
    assert.ok(message.includes(`/schemas/ids/${id2}`), `names the request: ${message}`);
    assert.ok(!stderr.includes(URL_PASSWORD), 'the password in the registry URL appears nowhere in the log');
    assert.equal(instance.logLines('streamserve failed').length, 1);

    // Nothing committed past what was written: exactly the inputs before the switch, each with its prediction.
    const offsets = await committedOffsets(brokers, topics.group, topics.input);
    assert.equal([...offsets.values()].reduce((n, o) => n + o.committed, 0), BEFORE, 'nothing of the refused records committed');
    const outcomes: Outcome[] = [];
    await readOutcomes(brokers, topics, (o) => outcomes.push(o), { timeoutMs: 30_000 });
    assert.deepEqual(committedWithoutPrediction(offsets, outcomes).slice(0, 5), [], 'every committed input has its prediction');
    assert.equal(outcomes.filter((o) => o.kind === 'prediction').length, BEFORE, 'one prediction per input before the switch, none after');
    assert.equal(new Set(outcomes.map((o) => o.id)).size, BEFORE, 'no input scored twice');
    assert.ok(outcomes.every((o) => o.id.startsWith('before-')), 'none of the refused records scored');
    assert.equal(outcomes.filter((o) => o.kind === 'deadLetter').length, 0, 'a refusal is not poison: nothing dead-lettered');
  });
}

/** The `err` of each JSON log line that has one (pino's serialization: type, message, stack, code, ...). */
function errLines(stderr: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('"err":')) continue;
    try {
      const { err } = JSON.parse(line) as { err?: unknown };
      if (err !== null && typeof err === 'object') out.push(err as Record<string, unknown>);
    } catch {
      // a line cut short
    }
  }
  return out;
}
