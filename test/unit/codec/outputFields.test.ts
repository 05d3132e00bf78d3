import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import avro from 'avsc';
import { avroPredictionEncoder } from '../../../src/codec/predictionEncoder.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { parseSignature } from '../../../src/model/signature.js';

const classifier = (classes: (string | number)[]) =>
  parseSignature({
    name: 'c',
    version: '1',
    inputs: [{ field: 'x' }],
    outputs: [
      { field: 'label', kind: 'label', tensor: 'label', classes },
      { field: 'p', kind: 'probabilities', tensor: 'probabilities', classes },
      { field: 'score', tensor: 'probabilities', column: 2 },
    ],
  });

const record = (fields: { name: string; type: avro.Schema }[]) => avro.Type.forSchema({ type: 'record', name: 'P', fields: [{ name: 'id', type: 'string' }, ...fields] });

describe('classifier outputs in Avro', () => {
  test('a string label as an enum or a string, probabilities as a map by class or an array in class order', () => {
    const signature = classifier(['a', 'b', 'c']);
    // raw layout: label index, 3 probabilities, score
    const outputs = [2, 0.1, 0.2, 0.7, 0.7];
    const asEnum = record([
      { name: 'label', type: { type: 'enum', name: 'L', symbols: ['c', 'b', 'a'] } },
      { name: 'p', type: { type: 'map', values: 'double' } },
      { name: 'score', type: 'double' },
    ]);
    const decoded = asEnum.fromBuffer(avroPredictionEncoder(asEnum, signature).encode({ id: 'i', eventTime: 0, scoredAt: 0, outputs })) as Record<string, unknown>;
    assert.deepEqual({ ...decoded, p: { ...(decoded.p as object) } }, { id: 'i', label: 'c', p: { a: 0.1, b: 0.2, c: 0.7 }, score: 0.7 });

    const asString = record([
      { name: 'label', type: ['null', 'string'] },
      { name: 'p', type: { type: 'array', items: 'double' } },
      { name: 'score', type: 'float' },
    ]);
    const plain = asString.fromBuffer(avroPredictionEncoder(asString, signature).encode({ id: 'i', eventTime: 0, scoredAt: 0, outputs })) as Record<string, unknown>;
    assert.equal(plain.label, 'c');
    assert.deepEqual(plain.p, [0.1, 0.2, 0.7]);
  });

  test('an integer label as an int or a long', () => {
    const type = record([
      { name: 'label', type: 'long' },
      { name: 'p', type: { type: 'array', items: 'double' } },
      { name: 'score', type: 'double' },
    ]);
    const out = type.fromBuffer(avroPredictionEncoder(type, classifier([3, 5, 9])).encode({ id: 'i', eventTime: 0, scoredAt: 0, outputs: [1, 0, 1, 0, 0] })) as Record<string, unknown>;
    assert.equal(out.label, 5);
  });

  test('a field of a type its output cannot be written as is refused at startup, naming the field', () => {
    const cases: [(string | number)[], avro.Schema, avro.Schema, RegExp][] = [
      [['a', 'b', 'c'], 'long', { type: 'map', values: 'double' }, /field label: a label with string classes is written as string or enum, not long/],
      [[1, 2, 3], 'string', { type: 'map', values: 'double' }, /field label: a label with integer classes is written as int or long, not string/],
      [['a', 'b', 'c'], { type: 'enum', name: 'E', symbols: ['a', 'b'] }, { type: 'map', values: 'double' }, /field label: the enum lacks class\(es\) c/],
      [['a', 'b', 'c'], 'string', 'double', /field p: probabilities are written as a map or an array of double, not double/],
      [['a', 'b', 'c'], 'string', { type: 'array', items: 'string' }, /field p: probabilities .* not array of string/],
    ];
    for (const [classes, label, p, message] of cases) {
      const type = record([{ name: 'label', type: label }, { name: 'p', type: p }, { name: 'score', type: 'double' }]);
      assert.throws(() => avroPredictionEncoder(type, classifier(classes)), (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.SCHEMA_INVALID && message.test(err.message), String(message));
    }
  });
});
