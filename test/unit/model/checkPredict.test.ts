import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { checkPredict } from '../../../src/model/model.js';

/** The INFERENCE_FAILED message checkPredict throws, or null when it accepts. */
function refusal(closed: boolean, values: number, count: number, width = 3): string | null {
  try {
    checkPredict(closed, new Float32Array(values), count, width);
    return null;
  } catch (err) {
    assert.ok(err instanceof StreamserveError);
    assert.equal(err.code, ErrorCodes.INFERENCE_FAILED);
    return err.message;
  }
}

describe('checkPredict (the checks every runtime\'s predict starts with)', () => {
  test('whole rows of inputWidth values are accepted, none included', () => {
    assert.equal(refusal(false, 6, 2), null);
    assert.equal(refusal(false, 0, 0), null);
  });

  test('a closed model, a partial row, a count that is not a whole number of rows: INFERENCE_FAILED saying which', () => {
    assert.equal(refusal(true, 6, 2), 'model is closed');
    assert.equal(refusal(false, 5, 2), 'predict needs 2 × 3 = 6 values, got 5');
    assert.equal(refusal(false, 6, 1.5), 'predict needs 1.5 × 3 = 4.5 values, got 6');
    assert.equal(refusal(false, 0, -1), 'predict needs -1 × 3 = -3 values, got 0');
  });
});
