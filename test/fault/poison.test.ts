/**
 * Poison isolation (invariant 5): a corpus of bad values — random bytes, truncated Avro, records of other schemas,
 * empty and null values, a value near the broker's message size limit, NaN, infinite, missing and out-of-range
 * fields — scattered through a stream of valid inputs. Each must become one dead letter with the right stage and
 * code and its original value; every valid input around them must be predicted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import avro from 'avsc';
import type { AvroType } from '../../src/codec/schema.js';
import { POISON_KINDS } from '../../src/demo/poison.js';
import { ErrorCodes } from '../../src/errors.js';
import type { InputMessage } from '../../src/kafka/inputProducer.js';
import { BOREHOLE_RANGES, mulberry32, sampleBoreholeInputs, type BoreholeInput } from '../../src/model/borehole.js';
import { testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { caughtUp, faultConfig, startApp } from './support/inprocess.js';
import { boreholeInputType, publish } from './support/inputs.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, PREDICTION, type Expected } from './support/tally.js';

const VALID = 3000;
const PARTITIONS = 3;
/** The local broker's message.max.bytes is 1 MiB + 12; one value just under it. */
const LARGE_BYTES = 900 * 1024;

const UNDECODABLE: Expected = { kind: 'deadLetter', stage: 'decode', code: ErrorCodes.UNDECODABLE_VALUE };
const TRAILING: Expected = { kind: 'deadLetter', stage: 'decode', code: ErrorCodes.TRAILING_BYTES };
const EMPTY: Expected = { kind: 'deadLetter', stage: 'decode', code: ErrorCodes.EMPTY_VALUE };
const invalid = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes]): Expected => ({ kind: 'deadLetter', stage: 'validate', code });

interface Poison {
  name: string;
  value: Buffer | null;
  expected: Expected;
}

for (const mode of GUARANTEES) {
  test(`a poison corpus amid valid inputs: every bad value dead-lettered with its stage and code (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`poison-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const config = faultConfig(topics, mode);
    const type = await boreholeInputType();
    const random = mulberry32(mode === 'exactly-once' ? 62 : 61);
    const corpus = poisonCorpus(type, random);

    // Valid inputs with the poison scattered among them at random places; keys are the ids.
    const expected = new Map<string, Expected>();
    const sent = new Map<string, string>();
    const stream: InputMessage[] = [];
    const valid = sampleBoreholeInputs(VALID, 60);
    const slots = new Map<number, Poison[]>();
    for (const p of corpus) {
      const at = Math.floor(random() * VALID);
      slots.set(at, [...(slots.get(at) ?? []), p]);
    }
    valid.forEach((input, i) => {
      for (const [n, p] of (slots.get(i) ?? []).entries()) {
        const id = `poison-${mode}-${i}-${n}`;
        expected.set(id, p.expected);
        sent.set(id, digest(p.value));
        stream.push({ key: id, value: p.value, headers: { 'fault.poison': p.name } });
      }
      const id = `poison-${mode}-${i}`;
      expected.set(id, PREDICTION);
      stream.push({ key: id, value: type.toBuffer({ id, event_time: Date.now(), ...input }) });
    });
    // The large value goes alone: with neighbours in one produce request its partition's batch would pass the limit.
    const large = stream.findIndex((m) => (m.value?.length ?? 0) >= LARGE_BYTES);
    await publish(brokers, topics.input, stream.slice(0, large));
    await publish(brokers, topics.input, stream.slice(large, large + 1));
    await publish(brokers, topics.input, stream.slice(large + 1));

    const { app, stop } = await startApp(t, config);
    const failure = await caughtUp(app, brokers, PARTITIONS, 120_000).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    const status = app.status();
    assert.equal(await stop(), failure === undefined ? 0 : 1);

    let valueChanged = 0;
    let headersLost = 0;
    await countAndReport({
      scenario: 'poison-corpus',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      extra: { poison: corpus.length, kinds: new Set(corpus.map((p) => p.name)).size, largeBytes: LARGE_BYTES, sinkErrors: status.counts.sinkErrors },
      onMessage: (m, kind) => {
        if (kind !== 'deadLetter') return;
        const id = m.key!.toString();
        if (sent.get(id) !== digest(m.value)) valueChanged++;
        if (m.headers['fault.poison'] === undefined) headersLost++;
      },
    });
    assert.equal(valueChanged, 0, 'dead letters carry the original value, byte for byte');
    assert.equal(headersLost, 0, 'dead letters keep the original headers');
  });
}

/**
 * Every kind of bad value, with what it must become. For bytes that are not an input record, avsc itself (reading
 * with the input schema) says whether they are undecodable or leave bytes over; values it could read are not used.
 */
function poisonCorpus(type: AvroType, random: () => number): Poison[] {
  const good = (): BoreholeInput => sampleBoreholeInputs(1, Math.floor(random() * 1e9))[0]!;
  const encode = (fields: Record<string, unknown>) => type.toBuffer({ id: 'poison', event_time: Date.now(), ...good(), ...fields });
  const corpus: Poison[] = [];
  const byOracle = (name: string, value: Buffer): void => {
    const expected = decodeOracle(type, value);
    if (expected !== null) corpus.push({ name, value, expected });
  };

  for (const kind of POISON_KINDS) corpus.push({ name: `demo: ${kind.name}`, value: kind.value(type, 'poison', good()), expected: { kind: 'deadLetter', stage: kind.stage, code: kind.code } });
  for (let i = 0; i < 20; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(random() * 300));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    byOracle('random bytes', bytes);
  }
  for (let i = 0; i < 10; i++) {
    const full = encode({});
    const cut = full.subarray(0, 1 + Math.floor(random() * (full.length - 1)));
    corpus.push({ name: 'truncated avro', value: cut, expected: UNDECODABLE });
    assert.deepEqual(decodeOracle(type, cut), UNDECODABLE, 'a truncated record is undecodable');
  }
  const others: Array<[string, avro.Type, unknown]> = [
    [
      'another schema: order',
      avro.Type.forSchema({ type: 'record', name: 'Order', namespace: 'shop', fields: [{ name: 'orderId', type: 'long' }, { name: 'sku', type: 'string' }, { name: 'quantity', type: 'int' }, { name: 'price', type: 'double' }] }),
      { orderId: 123456789, sku: 'SKU-42', quantity: 3, price: 19.99 },
    ],
    [
      'another schema: reading',
      avro.Type.forSchema({ type: 'record', name: 'Reading', fields: [{ name: 'sensor', type: 'string' }, { name: 'values', type: { type: 'array', items: 'double' } }] }),
      { sensor: 'borehole-7', values: [1.5, 2.5, 3.5] },
    ],
  ];
  for (const [name, other, record] of others) {
    const value = other.toBuffer(record);
    assert.deepEqual(decodeOracle(type, value), UNDECODABLE, `${name} is not readable as an input`);
    corpus.push({ name, value, expected: UNDECODABLE });
  }
  // A newer input schema with a field added, written raw: it reads as an input with bytes left over.
  const v2 = avro.Type.forSchema({ ...(type.schema() as avro.schema.RecordType), fields: [...(type.schema() as avro.schema.RecordType).fields, { name: 'site', type: 'string' }] });
  corpus.push({ name: 'another schema: input v2', value: v2.toBuffer({ id: 'poison', event_time: Date.now(), ...good(), site: 'north-field' }), expected: TRAILING });

  corpus.push({ name: 'empty value', value: Buffer.alloc(0), expected: EMPTY });
  corpus.push({ name: 'null value', value: null, expected: EMPTY });
  // Near the broker's size limit: an input with a large blob after it (e.g. an attachment written by mistake).
  const blob = Buffer.alloc(LARGE_BYTES);
  for (let j = 0; j < blob.length; j++) blob[j] = (j * 131 + 7) & 0xff;
  corpus.push({ name: 'large value', value: Buffer.concat([encode({}), blob]), expected: TRAILING });

  corpus.push({ name: 'NaN field', value: encode({ Hu: Number.NaN }), expected: invalid(ErrorCodes.NOT_A_NUMBER) });
  corpus.push({ name: 'NaN field (first)', value: encode({ rw: Number.NaN }), expected: invalid(ErrorCodes.NOT_A_NUMBER) });
  corpus.push({ name: '+Infinity field', value: encode({ L: Number.POSITIVE_INFINITY }), expected: invalid(ErrorCodes.NOT_FINITE) });
  corpus.push({ name: '-Infinity field', value: encode({ Kw: Number.NEGATIVE_INFINITY }), expected: invalid(ErrorCodes.NOT_FINITE) });
  corpus.push({ name: 'above range', value: encode({ rw: BOREHOLE_RANGES.rw[1] * 1.5 }), expected: invalid(ErrorCodes.OUT_OF_RANGE) });
  corpus.push({ name: 'below range', value: encode({ r: BOREHOLE_RANGES.r[0] / 2 }), expected: invalid(ErrorCodes.OUT_OF_RANGE) });
  corpus.push({ name: 'negative', value: encode({ Tl: -BOREHOLE_RANGES.Tl[0] }), expected: invalid(ErrorCodes.OUT_OF_RANGE) });
  corpus.push({ name: 'missing field', value: encode({ Tu: null }), expected: invalid(ErrorCodes.MISSING_FIELD) });
  corpus.push({ name: 'all fields missing', value: encode({ rw: null, r: null, Tu: null, Hu: null, Tl: null, Hl: null, L: null, Kw: null }), expected: invalid(ErrorCodes.MISSING_FIELD) });
  return corpus;
}

/** What avsc makes of bytes read with the input schema: undecodable, bytes left over, or null when they read fine. */
function decodeOracle(type: AvroType, value: Buffer): Expected | null {
  if (value.length === 0) return EMPTY;
  let offset: number;
  try {
    ({ offset } = type.decode(value, 0));
  } catch {
    return UNDECODABLE;
  }
  if (offset < 0) return UNDECODABLE;
  return offset === value.length ? null : TRAILING;
}

function digest(value: Buffer | null): string {
  return value === null ? 'null' : createHash('sha256').update(value).digest('hex');
}
