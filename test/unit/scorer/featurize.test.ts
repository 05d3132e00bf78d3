import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { featurize } from '../../../src/scorer/featurize.js';
import { parseSignature } from '../../../src/model/signature.js';
import { ErrorCodes, RecordError, type ErrorCode } from '../../../src/errors.js';

const signature = parseSignature({
  name: 'unit',
  version: '1',
  inputs: [
    { field: 'a' }, // identity, center 0, scale 1, unbounded
    { field: 'b', center: 10, scale: 2 },
    { field: 'c', transform: 'log', center: 1, scale: 4, min: 0.5, max: 1000 },
    { field: 'd', min: -5, max: 5 },
  ],
  outputs: [{ field: 'y' }],
});

const valid = { id: 'x-1', event_time: 1_700_000_000_000, a: 1.5, b: 14, c: Math.exp(3), d: 0 };

function assertValidateError(input: Record<string, unknown>, code: ErrorCode, field?: string): void {
  assert.throws(
    () => featurize(signature, input),
    (err: unknown) => {
      assert.ok(err instanceof RecordError, String(err));
      assert.equal(err.stage, 'validate');
      assert.equal(err.code, code, err.message);
      if (field !== undefined) assert.match(err.message, new RegExp(`\\b${field}\\b`));
      return true;
    },
  );
}

describe('featurize', () => {
  test('copies id and event time and scales each column in signature order, as Float32', () => {
    const features = featurize(signature, valid);
    assert.equal(features.id, 'x-1');
    assert.equal(features.eventTime, 1_700_000_000_000);
    assert.ok(features.row instanceof Float32Array);
    assert.deepEqual(Array.from(features.row), [
      Math.fround(1.5), // identity
      Math.fround((14 - 10) / 2), // centered and scaled: 2
      Math.fround((3 - 1) / 4), // log then centered and scaled: 0.5
      0,
    ]);
  });

  test('scaling of values that are not exact in Float32 rounds like Float32', () => {
    const features = featurize(signature, { ...valid, a: 0.1, b: 10.3 });
    assert.equal(features.row[0], Math.fround(0.1));
    assert.equal(features.row[1], Math.fround((10.3 - 10) / 2));
  });

  test('range boundaries are inclusive', () => {
    for (const d of [-5, 5]) assert.equal(featurize(signature, { ...valid, d }).row[3], d);
    for (const c of [0.5, 1000]) assert.equal(featurize(signature, { ...valid, c }).row[2], Math.fround((Math.log(c) - 1) / 4));
  });

  test('OUT_OF_RANGE below min and above max', () => {
    assertValidateError({ ...valid, d: -5.000001 }, ErrorCodes.OUT_OF_RANGE, 'd');
    assertValidateError({ ...valid, d: 5.000001 }, ErrorCodes.OUT_OF_RANGE, 'd');
    assertValidateError({ ...valid, c: 0.4999 }, ErrorCodes.OUT_OF_RANGE, 'c');
    assertValidateError({ ...valid, c: 1000.5 }, ErrorCodes.OUT_OF_RANGE, 'c');
  });

  test('MISSING_FIELD for a null, absent or non-numeric input field', () => {
    assertValidateError({ ...valid, b: null }, ErrorCodes.MISSING_FIELD, 'b');
    const { c: _c, ...withoutC } = valid;
    assertValidateError(withoutC, ErrorCodes.MISSING_FIELD, 'c');
    assertValidateError({ ...valid, a: '1.5' }, ErrorCodes.MISSING_FIELD, 'a');
  });

  test('MISSING_FIELD for a missing id or event time', () => {
    const { id: _id, ...withoutId } = valid;
    assertValidateError(withoutId, ErrorCodes.MISSING_FIELD, 'id');
    const { event_time: _t, ...withoutTime } = valid;
    assertValidateError(withoutTime, ErrorCodes.MISSING_FIELD, 'event_time');
  });

  test('NOT_A_NUMBER for NaN, even in an unbounded column', () => {
    assertValidateError({ ...valid, a: Number.NaN }, ErrorCodes.NOT_A_NUMBER, 'a');
    assertValidateError({ ...valid, d: Number.NaN }, ErrorCodes.NOT_A_NUMBER, 'd');
  });

  test('NOT_FINITE for ±Infinity, even in an unbounded column', () => {
    assertValidateError({ ...valid, a: Number.POSITIVE_INFINITY }, ErrorCodes.NOT_FINITE, 'a');
    assertValidateError({ ...valid, a: Number.NEGATIVE_INFINITY }, ErrorCodes.NOT_FINITE, 'a');
    assertValidateError({ ...valid, d: Number.POSITIVE_INFINITY }, ErrorCodes.NOT_FINITE, 'd');
  });

  test('the first bad column in signature order is the one reported', () => {
    assertValidateError({ ...valid, b: null, d: 99 }, ErrorCodes.MISSING_FIELD, 'b');
  });
});
