import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeWithin } from '../../src/closeWithin.js';

describe('closeWithin', () => {
  test('names the parts still closing at the deadline; the others finished', async () => {
    const never = new Promise<void>(() => {});
    const started = Date.now();
    const pending = await closeWithin({ quick: Promise.resolve(), failing: Promise.reject(new Error('boom')), stuck: never, absent: undefined }, 50);
    assert.deepEqual(pending, ['stuck']);
    assert.ok(Date.now() - started >= 45, 'waited for the deadline');
  });

  test('returns as soon as every part has closed', async () => {
    const started = Date.now();
    const pending = await closeWithin({ a: new Promise((resolve) => setTimeout(resolve, 10)), b: Promise.resolve() }, 60_000);
    assert.deepEqual(pending, []);
    assert.ok(Date.now() - started < 5_000, 'did not wait for the deadline');
  });
});
