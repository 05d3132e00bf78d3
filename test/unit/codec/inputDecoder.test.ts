import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type { AvroType } from '../../../src/codec/schema.js';
import { rawAvroDecoder, type SyncInputDecoder } from '../../../src/codec/inputDecoder.js';
import { featurize } from '../../../src/scorer/featurize.js';
import { POISON_KINDS } from '../../../src/demo/poison.js';
import { BOREHOLE_FIELDS } from '../../../src/model/borehole.js';
import type { Signature } from '../../../src/model/signature.js';
import { ErrorCodes, RecordError, type ErrorCode, type Stage } from '../../../src/errors.js';
import { boreholeSignature, encodeInput, goodBorehole, inputSchema } from '../support.js';

/** Asserts that `fn` throws a RecordError of this stage and code, and returns it. */
function assertRecordError(fn: () => unknown, stage: Stage, code: ErrorCode): RecordError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof RecordError, `expected a RecordError, got ${String(thrown)}`);
  assert.equal(thrown.code, code, thrown.message);
  assert.equal(thrown.stage, stage);
  assert.ok(thrown.message.length > 0);
  return thrown;
}

let type: AvroType;
let decoder: SyncInputDecoder;
let signature: Signature;

before(async () => {
  type = await inputSchema();
  decoder = rawAvroDecoder(type);
  signature = await boreholeSignature();
});

describe('rawAvroDecoder', () => {
  test('decodes a valid input to its fields', () => {
    const good = goodBorehole(3);
    const decoded = decoder.decode(encodeInput(type, 'bh-1', good, 1_700_000_123_456));
    assert.equal(decoded.id, 'bh-1');
    assert.equal(decoded.event_time, 1_700_000_123_456);
    for (const field of BOREHOLE_FIELDS) assert.equal(decoded[field], good[field], field);
  });

  test('decodes null optional fields as null', () => {
    const decoded = decoder.decode(encodeInput(type, 'bh-2', { ...goodBorehole(), Kw: null }));
    assert.equal(decoded.Kw, null);
  });

  test('null value → EMPTY_VALUE', () => {
    assertRecordError(() => decoder.decode(null), 'decode', ErrorCodes.EMPTY_VALUE);
  });

  test('empty buffer → EMPTY_VALUE', () => {
    assertRecordError(() => decoder.decode(Buffer.alloc(0)), 'decode', ErrorCodes.EMPTY_VALUE);
  });

  test('every truncation of a valid value → UNDECODABLE_VALUE', () => {
    const full = encodeInput(type, 'bh-3', goodBorehole());
    for (let length = 1; length < full.length; length++) {
      assertRecordError(() => decoder.decode(full.subarray(0, length)), 'decode', ErrorCodes.UNDECODABLE_VALUE);
    }
  });

  test('trailing bytes after a complete record → TRAILING_BYTES', () => {
    const full = encodeInput(type, 'bh-4', goodBorehole());
    const error = assertRecordError(() => decoder.decode(Buffer.concat([full, Buffer.from([0])])), 'decode', ErrorCodes.TRAILING_BYTES);
    assert.match(error.message, /\b1 bytes? left/);
  });

  test('random bytes → UNDECODABLE_VALUE', () => {
    const samples = [
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]), // absurd string length
      Buffer.from([0x00, 0x00, 0x10, ...new Array<number>(30).fill(0)]), // union branch 8 of 2
      Buffer.from('{"id":"json, not avro"}'),
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
    ];
    for (const value of samples) assertRecordError(() => decoder.decode(value), 'decode', ErrorCodes.UNDECODABLE_VALUE);
  });
});

describe('POISON_KINDS through decode and featurize', () => {
  test('the list covers every decode and validate code a poison can have', () => {
    const codes = new Set(POISON_KINDS.map((k) => k.code));
    for (const code of [
      ErrorCodes.EMPTY_VALUE,
      ErrorCodes.UNDECODABLE_VALUE,
      ErrorCodes.TRAILING_BYTES,
      ErrorCodes.MISSING_FIELD,
      ErrorCodes.NOT_A_NUMBER,
      ErrorCodes.NOT_FINITE,
      ErrorCodes.OUT_OF_RANGE,
    ]) {
      assert.ok(codes.has(code), code);
    }
  });

  test('the good input the poisons are built from is itself valid', () => {
    const features = featurize(signature, decoder.decode(encodeInput(type, 'ok', goodBorehole(11))));
    assert.equal(features.id, 'ok');
    assert.equal(features.row.length, signature.inputs.length);
  });

  for (const kind of POISON_KINDS) {
    test(`${kind.name} → ${kind.stage} ${kind.code}`, () => {
      const value = kind.value(type, `poison-${kind.name}`, goodBorehole(11));
      assertRecordError(() => featurize(signature, decoder.decode(value)), kind.stage, kind.code);
    });
  }
});
