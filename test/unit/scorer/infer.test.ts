import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ModelUnavailable, scoreRows, type InferOptions, type RowResult } from '../../../src/scorer/infer.js';
import { parseSignature, unscaleOutput } from '../../../src/model/signature.js';
import { ErrorCodes, RecordError, StreamserveError, type ErrorCode } from '../../../src/errors.js';
import { StubModel } from '../support.js';

/** Two inputs, two outputs: `y` unscaled by identity (center 100, scale 10), `z` by log. */
const signature = parseSignature({
  name: 'unit',
  version: '1',
  inputs: [{ field: 'a' }, { field: 'b' }],
  outputs: [
    { field: 'y', center: 100, scale: 10 },
    { field: 'z', transform: 'log', center: 0, scale: 1 },
  ],
});

/** Raw outputs: y = a + b, z = a − b. */
const sumDiff = (row: Float32Array) => [row[0]! + row[1]!, row[0]! - row[1]!];

function rowsOf(...pairs: [number, number][]): Float32Array[] {
  return pairs.map(([a, b]) => Float32Array.of(a, b));
}

/** The unscaled outputs a correct scoring of `row` gives. */
function expected(row: Float32Array): number[] {
  return sumDiff(row).map((v, j) => unscaleOutput(signature.outputs[j]!, Math.fround(v)));
}

const noWait: InferOptions = { retries: 2, retryBackoffMs: 1, sleep: async () => {} };

function assertScored(result: RowResult | undefined, row: Float32Array, what: string): void {
  assert.ok(result instanceof Float64Array, `${what}: expected outputs, got ${String(result)}`);
  assert.deepEqual(Array.from(result), expected(row), what);
}

function assertFailed(result: RowResult | undefined, code: ErrorCode, what: string): void {
  assert.ok(result instanceof RecordError, `${what}: expected a RecordError, got ${String(result)}`);
  assert.equal(result.stage, 'infer', what);
  assert.equal(result.code, code, what);
}

describe('scoreRows', () => {
  test('scores every row, unscaled through the signature, in order', async () => {
    const model = new StubModel({ signature, outputs: sumDiff });
    const rows = rowsOf([1, 2], [0.5, -0.25], [3, 3]);
    const results = await scoreRows(model, rows, noWait);
    assert.equal(results.length, 3);
    rows.forEach((row, i) => assertScored(results[i], row, `row ${i}`));
    assert.deepEqual(Array.from(results[0] as Float64Array), [100 + 3 * 10, Math.exp(-1)]);
    assert.deepEqual(model.batchSizes, [3], 'one model call for a batch that scores');
  });

  test('no rows: no results and no model call', async () => {
    const model = new StubModel({ signature, outputs: sumDiff });
    assert.deepEqual(await scoreRows(model, [], noWait), []);
    assert.deepEqual(model.batchSizes, []);
  });

  test('a model that fails on marked rows: only those become INFERENCE_FAILED; the others are scored, in order', async () => {
    const model = new StubModel({ signature, outputs: sumDiff, failsOn: (row) => row[0] === 99 });
    const rows = rowsOf([1, 1], [99, 0], [2, 1], [3, 1], [4, 1], [99, 5], [5, 1], [6, 1], [7, 1]);
    const results = await scoreRows(model, rows, noWait);
    assert.equal(results.length, rows.length);
    rows.forEach((row, i) => {
      if (row[0] === 99) assertFailed(results[i], ErrorCodes.INFERENCE_FAILED, `row ${i}`);
      else assertScored(results[i], row, `row ${i}`);
    });
    assert.match((results[1] as RecordError).message, /cannot score/, 'the model’s reason is kept');
  });

  test('a model that fails on every row: every row is INFERENCE_FAILED', async () => {
    const model = new StubModel({ signature, failsOn: () => true });
    const results = await scoreRows(model, rowsOf([1, 1], [2, 2], [3, 3]), noWait);
    results.forEach((r, i) => assertFailed(r, ErrorCodes.INFERENCE_FAILED, `row ${i}`));
  });

  test('a retryable failure once, then success: every row scored', async () => {
    const model = new StubModel({
      signature,
      outputs: sumDiff,
      failFirst: { times: 1, error: new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'busy', { retryable: true }) },
    });
    const rows = rowsOf([1, 2], [3, 4], [5, 6], [7, 8]);
    const results = await scoreRows(model, rows, noWait);
    rows.forEach((row, i) => assertScored(results[i], row, `row ${i}`));
    assert.deepEqual(model.batchSizes, [4, 4], 'retried whole, not split');
  });

  test('retries wait with doubling backoff', async () => {
    const waits: number[] = [];
    const model = new StubModel({
      signature,
      outputs: sumDiff,
      failFirst: { times: 2, error: new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'busy', { retryable: true }) },
    });
    const rows = rowsOf([1, 2]);
    const results = await scoreRows(model, rows, { retries: 2, retryBackoffMs: 10, sleep: async (ms) => void waits.push(ms) });
    assertScored(results[0], rows[0]!, 'row 0');
    assert.deepEqual(waits, [10, 20]);
  });

  test('a non-retryable failure is not retried: the batch is split instead', async () => {
    const model = new StubModel({ signature, outputs: sumDiff, failFirst: { times: 1, error: new Error('boom') } });
    const rows = rowsOf([1, 2], [3, 4], [5, 6], [7, 8]);
    const results = await scoreRows(model, rows, noWait);
    rows.forEach((row, i) => assertScored(results[i], row, `row ${i}`));
    assert.deepEqual(model.batchSizes, [4, 2, 2]);
  });

  test('a NaN output is BAD_MODEL_OUTPUT for that row only', async () => {
    const model = new StubModel({
      signature,
      outputs: (row) => (row[0] === 2 ? [Number.NaN, 0] : sumDiff(row)),
    });
    const rows = rowsOf([1, 1], [2, 2], [3, 3]);
    const results = await scoreRows(model, rows, noWait);
    assertScored(results[0], rows[0]!, 'row 0');
    assertFailed(results[1], ErrorCodes.BAD_MODEL_OUTPUT, 'row 1');
    assert.match((results[1] as RecordError).message, /\by\b/, 'names the output that is not finite');
    assertScored(results[2], rows[2]!, 'row 2');
  });

  test('an output that overflows when unscaled (exp of a huge value) is BAD_MODEL_OUTPUT', async () => {
    const model = new StubModel({ signature, outputs: (row) => (row[0] === 1 ? [0, 1000] : sumDiff(row)) });
    const rows = rowsOf([1, 0], [2, 0]);
    const results = await scoreRows(model, rows, noWait);
    assertFailed(results[0], ErrorCodes.BAD_MODEL_OUTPUT, 'row 0');
    assert.match((results[0] as RecordError).message, /\bz\b/);
    assertScored(results[1], rows[1]!, 'row 1');
  });

  test('an output of the wrong length is BAD_MODEL_OUTPUT for the rows of that call', async () => {
    const model = new StubModel({ signature, outputs: sumDiff, mangle: (out) => out.subarray(0, out.length - 1) });
    const results = await scoreRows(model, rowsOf([1, 1], [2, 2], [3, 3]), noWait);
    assert.equal(results.length, 3);
    results.forEach((r, i) => assertFailed(r, ErrorCodes.BAD_MODEL_OUTPUT, `row ${i}`));
  });

  test('a model that fails every row, the known-good row too, is unavailable: nothing is split or dead-lettered', async () => {
    const model = new StubModel({ signature, outputs: sumDiff, failsOn: () => true });
    const rows = rowsOf([1, 1], [2, 2], [3, 3], [4, 4]);
    await assert.rejects(scoreRows(model, rows, { ...noWait, knownGood: Float32Array.of(9, 9) }), (err: unknown) => err instanceof ModelUnavailable && err.code === ErrorCodes.MODEL_UNAVAILABLE);
    assert.deepEqual(model.batchSizes, [4, 1], 'the batch, then the known-good row; no halving');
  });

  test('a row the model fails while it scores the known-good row is poison: dead-lettered alone', async () => {
    const model = new StubModel({ signature, outputs: sumDiff, failsOn: (row) => row[0] === 2 });
    const rows = rowsOf([1, 1], [2, 2], [3, 3], [4, 4]);
    const results = await scoreRows(model, rows, { ...noWait, retries: 0, knownGood: Float32Array.of(9, 9) });
    assertFailed(results[1], ErrorCodes.INFERENCE_FAILED, 'the failing row');
    for (const i of [0, 2, 3]) assertScored(results[i], rows[i]!, `row ${i}`);
  });

  test('a call that hangs past the timeout is abandoned and the runtime restarted; a row that always hangs is INFERENCE_TIMEOUT alone', async () => {
    const model = new StubModel({ signature, outputs: sumDiff });
    const hangs = (rows: Float32Array, count: number) => {
      for (let i = 0; i < count; i++) if (rows[i * 2] === 2) return true;
      return false;
    };
    let restarts = 0;
    const hanging = Object.assign(Object.create(model) as StubModel, {
      predict: (rows: Float32Array, count: number) => (hangs(rows, count) ? new Promise<Float32Array>(() => {}) : model.predict(rows, count)),
      restart: async () => void restarts++,
    });
    const rows = rowsOf([1, 1], [2, 2], [3, 3], [4, 4]);
    const results = await scoreRows(hanging, rows, { ...noWait, timeoutMs: 30, knownGood: Float32Array.of(9, 9) });
    assertFailed(results[1], ErrorCodes.INFERENCE_TIMEOUT, 'the hanging row');
    for (const i of [0, 2, 3]) assertScored(results[i], rows[i]!, `row ${i}`);
    assert.equal(restarts, 4, 'one timeout (and restart) per halving: 4 rows, 2 rows, 1 row, and the row once more');
  });

  test('a model that stalls once (a hung process, replaced) dead-letters nothing, even a batch of one row', async () => {
    const model = new StubModel({ signature, outputs: sumDiff });
    let stalls = 1;
    let restarts = 0;
    const stalling = Object.assign(Object.create(model) as StubModel, {
      predict: (rows: Float32Array, count: number) => (stalls-- > 0 ? new Promise<Float32Array>(() => {}) : model.predict(rows, count)),
      restart: async () => void restarts++,
    });
    const rows = rowsOf([2, 2]);
    const results = await scoreRows(stalling, rows, { ...noWait, timeoutMs: 30, knownGood: Float32Array.of(9, 9) });
    assertScored(results[0], rows[0]!, 'the row the stalled call held');
    assert.equal(restarts, 1, 'the stalled call abandoned and the runtime restarted once');
  });

  test('a model that hangs on everything, the known-good row too, is unavailable', async () => {
    const model = new StubModel({ signature, outputs: sumDiff });
    const hanging = Object.assign(Object.create(model) as StubModel, { predict: () => new Promise<Float32Array>(() => {}), restart: async () => {} });
    await assert.rejects(scoreRows(hanging, rowsOf([1, 1], [2, 2]), { ...noWait, timeoutMs: 20, knownGood: Float32Array.of(9, 9) }), ModelUnavailable);
  });
});
