import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import type { AvroType } from '../../../src/codec/schema.js';
import { avroPredictionEncoder } from '../../../src/codec/predictionEncoder.js';
import { parseSignature, type Signature } from '../../../src/model/signature.js';
import { ErrorCodes, RecordError, StreamserveError } from '../../../src/errors.js';
import { predictionSchema } from '../support.js';

const signature: Signature = parseSignature({
  name: 'borehole',
  version: '2.3.4',
  inputs: [{ field: 'rw' }],
  outputs: [{ field: 'flow_rate' }],
});

function recordType(fields: { name: string; type: avro.Schema }[]): AvroType {
  return avro.Type.forSchema({ type: 'record', name: 'P', fields });
}

let type: AvroType;
before(async () => {
  type = await predictionSchema();
});

describe('avroPredictionEncoder', () => {
  test('round trip: id, flow_rate, model name and version, event time, scored at', () => {
    const encoder = avroPredictionEncoder(type, signature);
    const bytes = encoder.encode({ id: 'bh-42', eventTime: 1_700_000_000_123, scoredAt: 1_700_000_009_999, outputs: [72.125] });
    assert.deepEqual({ ...(type.fromBuffer(bytes) as object) }, {
      id: 'bh-42',
      flow_rate: 72.125,
      model_name: 'borehole',
      model_version: '2.3.4',
      event_time: 1_700_000_000_123,
      scored_at: 1_700_000_009_999,
    });
  });

  test('outputs keep full double precision', () => {
    const encoder = avroPredictionEncoder(type, signature);
    const value = 123.45678901234567;
    const decoded = type.fromBuffer(encoder.encode({ id: 'p', eventTime: 0, scoredAt: 0, outputs: Float64Array.of(value) })) as {
      flow_rate: number;
    };
    assert.equal(decoded.flow_rate, value);
  });

  test('several outputs land in their own fields, in signature order', () => {
    const two = parseSignature({ ...signature, outputs: [{ field: 'lo' }, { field: 'hi' }] });
    const t = recordType([
      { name: 'id', type: 'string' },
      { name: 'hi', type: 'double' },
      { name: 'lo', type: 'double' },
    ]);
    const decoded = t.fromBuffer(avroPredictionEncoder(t, two).encode({ id: 'z', eventTime: 0, scoredAt: 0, outputs: [1, 2] })) as object;
    assert.deepEqual({ ...decoded }, { id: 'z', hi: 2, lo: 1 });
  });

  test('meta fields are written only when the schema has them', () => {
    const t = recordType([
      { name: 'id', type: 'string' },
      { name: 'flow_rate', type: 'double' },
      { name: 'model_version', type: 'string' },
    ]);
    const decoded = t.fromBuffer(avroPredictionEncoder(t, signature).encode({ id: 'm', eventTime: 5, scoredAt: 6, outputs: [3] })) as object;
    assert.deepEqual({ ...decoded }, { id: 'm', flow_rate: 3, model_version: '2.3.4' });
  });

  test('a schema lacking an output field is refused at construction with SCHEMA_INVALID', () => {
    const t = recordType([
      { name: 'id', type: 'string' },
      { name: 'model_version', type: 'string' },
    ]);
    assert.throws(
      () => avroPredictionEncoder(t, signature),
      (err: unknown) => {
        assert.ok(err instanceof StreamserveError);
        assert.ok(!(err instanceof RecordError), 'a startup failure, not a per-record one');
        assert.equal(err.code, ErrorCodes.SCHEMA_INVALID);
        assert.match(err.message, /flow_rate/);
        return true;
      },
    );
  });

  test('a schema lacking the id field is refused at construction with SCHEMA_INVALID', () => {
    const t = recordType([{ name: 'flow_rate', type: 'double' }]);
    assert.throws(() => avroPredictionEncoder(t, signature), { code: ErrorCodes.SCHEMA_INVALID, message: /\bid\b/ });
  });

  test('a value the schema cannot hold is a RecordError of stage encode (ENCODE_FAILED)', () => {
    const t = recordType([
      { name: 'id', type: 'string' },
      { name: 'flow_rate', type: 'int' },
    ]);
    const encoder = avroPredictionEncoder(t, signature);
    assert.equal((t.fromBuffer(encoder.encode({ id: 'i', eventTime: 0, scoredAt: 0, outputs: [7] })) as { flow_rate: number }).flow_rate, 7);
    assert.throws(
      () => encoder.encode({ id: 'i', eventTime: 0, scoredAt: 0, outputs: [7.5] }),
      (err: unknown) => err instanceof RecordError && err.stage === 'encode' && err.code === ErrorCodes.ENCODE_FAILED,
    );
  });
});
