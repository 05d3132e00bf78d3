import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type { AvroType } from '../../../src/codec/schema.js';
import { jsonInputProblems } from '../../../src/codec/jsonInput.js';
import { goodBorehole, inputSchema } from '../support.js';

let type: AvroType;
before(async () => {
  type = await inputSchema();
});

describe('jsonInputProblems (what produce refuses)', () => {
  const good = () => ({ id: 'a', event_time: 1, ...goodBorehole(1) });

  test('a complete input has none; optional fields may be left out', () => {
    assert.deepEqual(jsonInputProblems(type, good()), []);
    const { Tu: _, ...withoutTu } = good();
    assert.deepEqual(jsonInputProblems(type, withoutTu), []);
  });

  test('a misspelt field is named, with the field it probably meant', () => {
    const { Tu, ...rest } = good();
    assert.deepEqual(jsonInputProblems(type, { ...rest, tu: Tu }), ['unknown field "tu" (did you mean "Tu"?)']);
    assert.deepEqual(jsonInputProblems(type, { ...good(), colour: 'red' }), ['unknown field "colour"']);
  });

  test('a value of the wrong JSON type, or a required field left out, is named', () => {
    assert.deepEqual(jsonInputProblems(type, { ...good(), Hu: '1050' }), ['field "Hu": "1050" is not ["null","double"]']);
    const { id: _, ...noId } = good();
    assert.deepEqual(jsonInputProblems(type, noId), ['field "id" is missing']);
    assert.deepEqual(jsonInputProblems(type, [1]), ['not a JSON object']);
  });
});
