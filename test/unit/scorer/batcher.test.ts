import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPolicy } from '../../../src/scorer/batcher.js';

/** A clock the test moves by hand. */
function manualClock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('BatchPolicy', () => {
  test('empty: no flush, no deadline, take() gives nothing', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 3, maxBatchDelayMs: 10, now: clock.now });
    assert.equal(policy.size, 0);
    assert.equal(policy.shouldFlush(), false);
    assert.equal(policy.msUntilDeadline(), null);
    clock.advance(1_000_000);
    assert.equal(policy.shouldFlush(), false, 'an empty batcher never flushes, however long it waits');
    assert.deepEqual(policy.take(), []);
    assert.equal(policy.size, 0);
  });

  test('flushes when maxBatchSize items are queued, not before', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<string>({ maxBatchSize: 3, maxBatchDelayMs: 10_000, now: clock.now });
    policy.add('a');
    policy.add('b');
    assert.equal(policy.shouldFlush(), false);
    policy.add('c');
    assert.equal(policy.shouldFlush(), true);
    assert.deepEqual(policy.take(), ['a', 'b', 'c']);
    assert.equal(policy.size, 0);
    assert.equal(policy.shouldFlush(), false);
  });

  test('flushes when the oldest item has waited maxBatchDelayMs (boundary included)', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 100, maxBatchDelayMs: 50, now: clock.now });
    policy.add(1);
    clock.advance(30);
    policy.add(2); // a later item does not push the deadline back
    clock.advance(19);
    assert.equal(policy.shouldFlush(), false);
    assert.equal(policy.msUntilDeadline(), 1);
    clock.advance(1);
    assert.equal(policy.msUntilDeadline(), 0);
    assert.equal(policy.shouldFlush(), true);
    assert.deepEqual(policy.take(), [1, 2]);
  });

  test('msUntilDeadline counts down from the oldest item and never goes negative', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 100, maxBatchDelayMs: 40, now: clock.now });
    policy.add(1);
    assert.equal(policy.msUntilDeadline(), 40);
    clock.advance(15);
    assert.equal(policy.msUntilDeadline(), 25);
    clock.advance(500);
    assert.equal(policy.msUntilDeadline(), 0);
  });

  test('maxBatchDelayMs 0 flushes a single item at once', () => {
    const policy = new BatchPolicy<number>({ maxBatchSize: 100, maxBatchDelayMs: 0, now: () => 5 });
    policy.add(1);
    assert.equal(policy.shouldFlush(), true);
  });

  test('take() of more than maxBatchSize returns the oldest max and leaves the rest, in order', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 4, maxBatchDelayMs: 100, now: clock.now });
    for (let i = 0; i < 10; i++) policy.add(i);
    assert.deepEqual(policy.take(), [0, 1, 2, 3]);
    assert.equal(policy.size, 6);
    assert.equal(policy.shouldFlush(), true, 'six left over is still a full batch');
    assert.deepEqual(policy.take(), [4, 5, 6, 7]);
    assert.equal(policy.size, 2);
    assert.equal(policy.shouldFlush(), false);
    assert.deepEqual(policy.take(), [8, 9]);
    assert.equal(policy.size, 0);
    assert.equal(policy.msUntilDeadline(), null);
  });

  test('a long queue with adds between takes comes out whole, in order, in batches of at most maxBatchSize', () => {
    const policy = new BatchPolicy<number>({ maxBatchSize: 256, maxBatchDelayMs: 100, now: manualClock().now });
    let next = 0;
    const add = (n: number) => {
      for (let i = 0; i < n; i++) policy.add(next++);
    };
    add(20_000);
    const out: number[] = [];
    for (let round = 0; policy.size > 0; round++) {
      const before = policy.size;
      const batch = policy.take();
      assert.ok(batch.length > 0 && batch.length <= 256, `batch of ${batch.length}`);
      assert.equal(policy.size, before - batch.length);
      out.push(...batch);
      if (round % 7 === 0 && next < 25_000) add(300);
    }
    assert.equal(out.length, next);
    assert.deepEqual(out, Array.from({ length: next }, (_, i) => i));
  });

  test('left-overs keep the original deadline: they never wait longer than maxBatchDelayMs', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 2, maxBatchDelayMs: 100, now: clock.now });
    policy.add(1);
    policy.add(2);
    policy.add(3);
    clock.advance(60);
    assert.deepEqual(policy.take(), [1, 2]);
    assert.equal(policy.msUntilDeadline(), 40);
    clock.advance(40);
    assert.equal(policy.shouldFlush(), true);
  });

  test('after emptying, the next item starts a fresh deadline', () => {
    const clock = manualClock();
    const policy = new BatchPolicy<number>({ maxBatchSize: 10, maxBatchDelayMs: 100, now: clock.now });
    policy.add(1);
    clock.advance(90);
    assert.deepEqual(policy.take(), [1]);
    clock.advance(500);
    policy.add(2);
    assert.equal(policy.msUntilDeadline(), 100);
    assert.equal(policy.shouldFlush(), false);
  });

  test('a taken batch is not changed by later adds', () => {
    const policy = new BatchPolicy<number>({ maxBatchSize: 10, maxBatchDelayMs: 100, now: () => 0 });
    policy.add(1);
    policy.add(2);
    const batch = policy.take();
    policy.add(3);
    assert.deepEqual(batch, [1, 2]);
    assert.deepEqual(policy.take(), [3]);
  });
});
