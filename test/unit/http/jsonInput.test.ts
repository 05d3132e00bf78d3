/** JSON inputs of HTTP requests, read against the input Avro schema (src/http/jsonInput.ts). */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { ErrorCodes, RecordError } from '../../../src/errors.js';
import { jsonInputReader, type JsonInputReader } from '../../../src/http/jsonInput.js';
import { boreholeSignature, goodBorehole, inputSchema } from '../support.js';

let read: JsonInputReader;
before(async () => {
  read = jsonInputReader(await inputSchema(), await boreholeSignature(), { defaultId: (i) => `req-7-${i}`, now: () => 1_234 });
});

const codeOf = (v: unknown) => (v instanceof RecordError ? `${v.stage}/${v.code}` : 'ok');

test('an input of the schema\'s fields is read as given; a missing id and event time get defaults', () => {
  const fields = goodBorehole(3);
  assert.deepEqual(read({ id: 'a', event_time: 99, ...fields }, 0), { id: 'a', event_time: 99, ...fields });
  assert.deepEqual(read({ ...fields }, 4), { id: 'req-7-4', event_time: 1_234, ...fields });
});

test('an absent optional measurement takes its default (null): the scorer then answers MISSING_FIELD', () => {
  const { Tu: _Tu, ...rest } = goodBorehole(3);
  assert.equal((read(rest, 0) as Record<string, unknown>).Tu, null);
});

test('a field the schema does not have is UNKNOWN_FIELD naming it (a typo is not a silent null)', () => {
  const e = read({ ...goodBorehole(3), tu: 89_335 }, 0);
  assert.equal(codeOf(e), 'validate/UNKNOWN_FIELD');
  assert.match((e as RecordError).message, /field "tu" is not in the input schema/);
});

test('a value of the wrong JSON type is WRONG_TYPE naming the field and what it takes', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ rw: '0.1' }, /field rw must be null or number \(got string\)/],
    [{ rw: true }, /field rw must be null or number \(got boolean\)/],
    [{ rw: [0.1] }, /field rw must be null or number \(got array\)/],
    [{ id: 5 }, /field id must be string \(got number 5\)/],
    [{ event_time: 1.5 }, /field event_time must be integer \(got number 1.5\)/],
    [{ event_time: null }, /field event_time must be integer \(got null\)/],
  ];
  for (const [change, message] of cases) {
    const e = read({ ...goodBorehole(3), ...change }, 0);
    assert.equal(codeOf(e), `validate/${ErrorCodes.WRONG_TYPE}`, JSON.stringify(change));
    assert.match((e as RecordError).message, message);
  }
});

test('an input that is not a JSON object is WRONG_TYPE', () => {
  for (const v of [3, 'x', null, [1, 2]]) assert.equal(codeOf(read(v, 0)), 'validate/WRONG_TYPE', JSON.stringify(v));
});

test('a required field without a default is MISSING_FIELD when absent', async () => {
  const type = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'string' }, { name: 'event_time', type: 'long' }, { name: 'x', type: 'double' }] });
  const strict = jsonInputReader(type, await boreholeSignature(), { defaultId: () => 'd' });
  const e = strict({}, 0);
  assert.equal(codeOf(e), 'validate/MISSING_FIELD');
  assert.match((e as RecordError).message, /field x is required/);
});
