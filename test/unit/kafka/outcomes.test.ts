import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Signature } from '../../../src/model/signature.js';
import { deadLetterMessage, predictionFits, predictionMessage, type OutcomeTarget } from '../../../src/kafka/outcomes.js';
import { Header } from '../../../src/kafka/headers.js';
import type { InputRecord } from '../../../src/kafka/records.js';
import { RECORD_BATCH_OVERHEAD, fitsAlone, messageBytes } from '../../../src/kafka/size.js';
import { ErrorCodes, RecordError } from '../../../src/errors.js';
import { boreholeSignature } from '../support.js';

let signature: Signature;
before(async () => {
  signature = await boreholeSignature();
});

const failure = new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, 'cannot read record: truncated');

function input(valueBytes: number, keyBytes = 8, headerBytes = 0): InputRecord {
  return {
    topic: 'inputs',
    partition: 2,
    offset: '41',
    key: Buffer.alloc(keyBytes, 0x6b),
    value: Buffer.alloc(valueBytes, 0x76),
    headers: headerBytes > 0 ? { trace: 'x'.repeat(headerBytes) } : {},
    timestamp: '1700000000000',
  };
}

function target(limits?: { output: number; deadLetter: number }): OutcomeTarget {
  return { outputTopic: 'predictions', deadLetterTopic: 'dead-letters', signature, runtime: 'tfjs-wasm', ...(limits ? { maxMessageBytes: limits } : {}) };
}

describe('outcomes and the topics’ max.message.bytes', () => {
  test('a dead letter that fits keeps the input’s key, value and headers, and drops nothing', () => {
    const record = input(5_000, 8, 100);
    const m = deadLetterMessage(target({ output: 10_000, deadLetter: 10_000 }), record, failure);
    assert.deepEqual(m.value, record.value);
    assert.deepEqual(m.key, record.key);
    assert.equal(m.headers.trace, record.headers.trace);
    assert.equal(m.headers[Header.errorDropped], undefined);
    assert.equal(m.headers[Header.errorCode], ErrorCodes.UNDECODABLE_VALUE);
    assert.ok(fitsAlone(m, 10_000));
  });

  test('a dead letter too large for its topic leaves out the value, then the headers, then the key — and says so', () => {
    const limit = 10_000;
    const cases = [
      { record: input(9_900), dropped: 'value' },
      { record: input(9_900, 8, 9_900), dropped: 'value,headers' },
      { record: input(9_900, 9_900, 9_900), dropped: 'value,headers,key' },
    ];
    for (const { record, dropped } of cases) {
      const m = deadLetterMessage(target({ output: limit, deadLetter: limit }), record, failure);
      assert.equal(m.headers[Header.errorDropped], dropped, dropped);
      assert.ok(fitsAlone(m, limit), `${dropped}: ${RECORD_BATCH_OVERHEAD + messageBytes(m)} bytes fit ${limit}`);
      assert.equal(m.value, null);
      assert.equal(m.headers[Header.errorCode], ErrorCodes.UNDECODABLE_VALUE, 'the failure is still named');
      assert.equal(m.headers[Header.sourceOffset], '41', 'and where the input is');
      if (dropped !== 'value') assert.equal(m.headers.trace, undefined, 'the input’s headers are left out');
      if (dropped === 'value') assert.deepEqual(m.key, record.key, 'the key stays while there is room');
    }
  });

  test('without limits nothing is dropped, however large', () => {
    const m = deadLetterMessage(target(), input(2_000_000), failure);
    assert.equal(m.value!.length, 2_000_000);
    assert.equal(m.headers[Header.errorDropped], undefined);
  });

  test('a prediction fits unless its topic’s limit is smaller than it', () => {
    const record = input(100);
    const value = Buffer.alloc(120, 1);
    const m = predictionMessage(target(), record, value);
    assert.equal(predictionFits(target(), m), true);
    assert.equal(predictionFits(target({ output: 1_048_588, deadLetter: 1_048_588 }), m), true);
    const exact = RECORD_BATCH_OVERHEAD + messageBytes(m);
    assert.equal(predictionFits(target({ output: exact, deadLetter: 1_000 }), m), true);
    assert.equal(predictionFits(target({ output: exact - 1, deadLetter: 1_000 }), m), false);
  });
});
