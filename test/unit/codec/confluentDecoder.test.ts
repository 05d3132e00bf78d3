import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { AvroType } from '../../../src/codec/schema.js';
import { ConfluentDecoder, type WriterSchemaSource } from '../../../src/codec/confluentDecoder.js';
import { frameHeader } from '../../../src/codec/confluentFrame.js';
import { confluentPredictionEncoder } from '../../../src/codec/confluentEncoder.js';
import { resolutionProblems } from '../../../src/codec/compatibility.js';
import { ErrorCodes, RecordError, isFatal, type ErrorCode } from '../../../src/errors.js';
import { RegistryError } from '../../../src/registry/client.js';
import { goodBorehole, inputSchema, repoPath, silentLogger, waitFor } from '../support.js';

const V1 = JSON.parse(readFileSync(repoPath('schemas/borehole-input.avsc'), 'utf8')) as { fields: { name: string }[] } & Record<string, unknown>;
/** Fields reordered, one removed that has a default (Kw stays), one added with a default. */
const V2 = { ...V1, fields: [{ name: 'site', type: 'string', default: 'x' }, ...[...V1.fields].reverse()] };

/** A registry stub: schemas by id, a switch to make it unavailable, and a count of lookups per id. */
class StubSource implements WriterSchemaSource {
  readonly schemas = new Map<number, object | string>();
  readonly calls = new Map<number, number>();
  down = false;
  /** Answers every lookup with this error (a refusal) when set. */
  refusal: Error | null = null;
  pending: (() => void)[] = [];
  hold = false;

  writerSchema(id: number): Promise<{ schema: string; schemaType: string } | null> {
    this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    const answer = () => {
      if (this.refusal) throw this.refusal;
      if (this.down) throw new Error('ECONNREFUSED');
      const s = this.schemas.get(id);
      if (s === undefined) return null;
      return typeof s === 'string' ? { schema: s, schemaType: 'PROTOBUF' } : { schema: JSON.stringify(s), schemaType: 'AVRO' };
    };
    if (!this.hold) return Promise.resolve().then(answer);
    return new Promise((resolve, reject) => this.pending.push(() => { try { resolve(answer()); } catch (err) { reject(err as Error); } }));
  }
}

let reader: AvroType;
before(async () => {
  reader = await inputSchema();
});

function framed(id: number, schema: object, fields: Record<string, unknown>): Buffer {
  return Buffer.concat([frameHeader(id), avro.Type.forSchema(schema as avro.Schema).toBuffer(fields)]);
}

const input = (id: string) => ({ id, event_time: 1_700_000_000_000, ...goodBorehole(2) });

async function rejection(value: unknown): Promise<RecordError> {
  try {
    await value;
  } catch (err) {
    assert.ok(err instanceof RecordError, `a RecordError, not ${String(err)}`);
    return err;
  }
  assert.fail('decoded, but should have failed');
}

function decoder(source: StubSource, cacheSize = 10): ConfluentDecoder {
  return new ConfluentDecoder({ reader, source, cacheSize, logger: silentLogger, backoffMs: 5, maxBackoffMs: 20 });
}

describe('ConfluentDecoder', () => {
  test('resolves each writer schema to the reader schema: the same fields whatever the order or extra fields', async () => {
    const source = new StubSource();
    source.schemas.set(1, V1).set(2, V2);
    const d = decoder(source);
    const a = await d.decode(framed(1, V1, input('a')));
    const b = await d.decode(framed(2, V2, { ...input('b'), site: 'north' }));
    assert.deepEqual({ ...a, id: 'b' }, { ...b });
    assert.equal(b.Tu, goodBorehole(2).Tu);
  });

  test('one lookup per id, concurrent records share it; once known, a record decodes synchronously', async () => {
    const source = new StubSource();
    source.schemas.set(7, V2);
    source.hold = true;
    const d = decoder(source);
    const pending = [1, 2, 3].map((i) => d.decode(framed(7, V2, { ...input(`r${i}`), site: 's' })));
    assert.ok(pending.every((p) => p instanceof Promise));
    assert.equal(source.pending.length, 1, 'one lookup in flight');
    source.pending.shift()!();
    assert.deepEqual((await Promise.all(pending)).map((f) => f.id), ['r1', 'r2', 'r3']);
    const sync = d.decode(framed(7, V2, { ...input('r4'), site: 's' }));
    assert.ok(!(sync instanceof Promise));
    assert.equal(source.calls.get(7), 1);
  });

  test('the cache holds at most SCHEMA_CACHE_SIZE ids: a forgotten one is looked up again', async () => {
    const source = new StubSource();
    for (const id of [1, 2, 3]) source.schemas.set(id, V1);
    const d = decoder(source, 2);
    for (const id of [1, 2, 3, 1]) await d.decode(framed(id, V1, input(`x${id}`)));
    assert.equal(source.calls.get(1), 2, 'id 1 was evicted by 3 and fetched again');
    assert.equal(source.calls.get(3), 1);
  });

  const poison: [string, () => Buffer, ErrorCode, number | undefined][] = [
    ['null', () => null as unknown as Buffer, ErrorCodes.EMPTY_VALUE, undefined],
    ['raw Avro (no magic byte)', () => avro.Type.forSchema(V1 as avro.Schema).toBuffer(input('raw')), ErrorCodes.NOT_REGISTRY_FRAMED, undefined],
    ['shorter than the header', () => Buffer.from([0, 0, 0, 1]), ErrorCodes.NOT_REGISTRY_FRAMED, undefined],
    ['an id the registry does not know', () => framed(404, V1, input('u')), ErrorCodes.UNKNOWN_SCHEMA_ID, 404],
    ['a writer schema that does not resolve', () => framed(5, { ...V1, fields: V1.fields.map((f) => (f.name === 'Tu' ? { name: 'Tu', type: 'string' } : f)) }, { ...input('i'), Tu: 'no' }), ErrorCodes.INCOMPATIBLE_SCHEMA, 5],
    ['a schema that is not Avro', () => Buffer.concat([frameHeader(6), Buffer.from([1, 2])]), ErrorCodes.INCOMPATIBLE_SCHEMA, 6],
    ['truncated body', () => framed(1, V1, input('t')).subarray(0, 12), ErrorCodes.UNDECODABLE_VALUE, 1],
  ];
  for (const [name, value, code, schemaId] of poison) {
    test(`poison: ${name} is ${code}${schemaId === undefined ? '' : ', naming its schema id'}`, async () => {
      const source = new StubSource();
      source.schemas.set(1, V1).set(5, { ...V1, fields: V1.fields.map((f) => (f.name === 'Tu' ? { name: 'Tu', type: 'string' } : f)) }).set(6, 'syntax = "proto3";');
      const d = decoder(source);
      const err = await rejection(Promise.resolve().then(() => d.decode(value())));
      assert.equal(err.code, code, err.message);
      assert.equal(err.stage, 'decode');
      assert.equal(err.schemaId, schemaId);
      assert.ok(d.health.healthy, 'poison says nothing about the registry');
    });
  }

  test('a registry that does not answer is not poison: rejects with no RecordError, unhealthy, retried with backoff until it answers', async () => {
    const source = new StubSource();
    source.schemas.set(3, V1);
    source.down = true;
    const d = decoder(source);
    const changes: boolean[] = [];
    d.health.onChange((h) => changes.push(h));
    await assert.rejects(Promise.resolve(d.decode(framed(3, V1, input('o')))), (err: unknown) => !(err instanceof RecordError));
    assert.equal(d.health.healthy, false);
    assert.equal(d.health.name, 'schemaRegistryReachable');
    await waitFor(() => (source.calls.get(3) ?? 0) >= 3, { what: 'retries while the registry is down' });
    source.down = false;
    await waitFor(() => d.health.healthy, { what: 'healthy again once the registry answers' });
    assert.deepEqual(changes, [false, true]);
    const fields = d.decode(framed(3, V1, input('o')));
    assert.ok(!(fields instanceof Promise), 'the retry filled the cache');
    d.close();
  });

  for (const status of [401, 403] as const) {
    test(`a registry that refuses us (HTTP ${status}) is not an outage: the decode rejects with the fatal error, health unchanged, no retry`, async () => {
      const source = new StubSource();
      source.schemas.set(3, V1);
      source.refusal = new RegistryError(`the Schema Registry at http://r refused (HTTP ${status})`, status);
      const d = decoder(source);
      const changes: boolean[] = [];
      d.health.onChange((h) => changes.push(h));
      const err = await Promise.resolve(d.decode(framed(3, V1, input('o')))).then(
        () => assert.fail('decoded'),
        (e: unknown) => e,
      );
      assert.ok(isFatal(err), String(err));
      assert.equal(err.code, status === 401 ? ErrorCodes.AUTHENTICATION_FAILED : ErrorCodes.AUTHORIZATION_FAILED);
      assert.equal(d.health.healthy, true, 'it answered');
      // A second record of the id asks again (nothing cached): the refusal is not remembered as the record's fault.
      await assert.rejects(Promise.resolve(d.decode(framed(3, V1, input('p')))), (e: unknown) => isFatal(e));
      assert.equal(source.calls.get(3), 2, 'no retries of its own');
      assert.deepEqual(changes, []);
      d.close();
    });
  }

  test('an outage that ends in a refusal: the retry loop ends, healthy (the registry answers), and the next decode meets the refusal', async () => {
    const source = new StubSource();
    source.schemas.set(3, V1);
    source.down = true;
    const d = decoder(source);
    await assert.rejects(Promise.resolve(d.decode(framed(3, V1, input('o')))), (err: unknown) => !isFatal(err));
    assert.equal(d.health.healthy, false);
    await waitFor(() => (source.calls.get(3) ?? 0) >= 2, { what: 'retries while the registry is down' });
    source.refusal = new RegistryError('the Schema Registry at http://r refused our credentials (HTTP 401)', 401);
    await waitFor(() => d.health.healthy, { what: 'healthy once the registry answers, with a refusal' });
    const calls = source.calls.get(3)!;
    await assert.rejects(Promise.resolve(d.decode(framed(3, V1, input('o')))), (err: unknown) => isFatal(err) && err.code === ErrorCodes.AUTHENTICATION_FAILED);
    assert.equal(source.calls.get(3), calls + 1);
    d.close();
  });
});

describe('confluentPredictionEncoder', () => {
  test('frames what the inner encoder writes with the schema id', () => {
    const framedValue = confluentPredictionEncoder({ encode: () => Buffer.from([9, 8]) }, 258).encode({ id: 'a', eventTime: 0, scoredAt: 0, outputs: [1] });
    assert.deepEqual([...framedValue], [0, 0, 0, 1, 2, 9, 8]);
  });
});

describe('resolutionProblems', () => {
  test('names each field the model needs that is missing or of a type the reader cannot read', () => {
    const writer = avro.Type.forSchema({ ...V1, fields: V1.fields.filter((f) => f.name !== 'rw').map((f) => (f.name === 'Tu' ? { name: 'Tu', type: 'string' } : f)) } as avro.Schema);
    const problems = resolutionProblems(reader, writer, ['id', 'rw', 'Tu', 'Hu']);
    assert.deepEqual(problems, ['field rw: not in the writer schema (the model needs it)', 'field Tu: written as "string", which cannot be read as ["null","double"]']);
  });

  test('evolutions that resolve have no problems; an int promoted to double is fine', () => {
    const promoted = avro.Type.forSchema({ ...V1, fields: V1.fields.map((f) => (f.name === 'Hu' ? { name: 'Hu', type: 'int' } : f)) } as avro.Schema);
    assert.deepEqual(resolutionProblems(reader, promoted, ['Hu']), []);
    assert.deepEqual(resolutionProblems(reader, avro.Type.forSchema(V2 as avro.Schema), ['id', 'Tu']), []);
  });
});
