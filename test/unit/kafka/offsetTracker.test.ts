import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetTracker, type CommitPosition } from '../../../src/kafka/offsetTracker.js';

const T = 'inputs';

/** uncommitted() as `partition → offset`, for compact assertions. */
function positions(tracker: OffsetTracker): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of tracker.uncommitted()) {
    assert.equal(p.topic, T);
    out[p.partition] = p.offset;
  }
  return out;
}

function trackAll(tracker: OffsetTracker, partition: number, offsets: readonly (string | number)[]): void {
  for (const o of offsets) assert.equal(tracker.track(T, partition, String(o)), true, `track ${o}`);
}

describe('OffsetTracker', () => {
  test('nothing is committable before any offset is done', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1, 2]);
    assert.deepEqual(tracker.uncommitted(), []);
    assert.equal(tracker.pendingCount(T, 0), 3);
    assert.equal(tracker.committedOffset(T, 0), null);
  });

  test('the committable position is one past the contiguous done prefix; a gap holds it back', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [10, 11, 12, 13, 14]);
    tracker.done(T, 0, '12');
    tracker.done(T, 0, '14');
    assert.deepEqual(positions(tracker), {}, 'offset 10 is not done, so nothing may be committed');
    tracker.done(T, 0, '10');
    assert.deepEqual(positions(tracker), { 0: '11' });
    tracker.done(T, 0, '11');
    assert.deepEqual(positions(tracker), { 0: '13' }, 'filling 11 releases 12, but 13 is still a gap');
    tracker.done(T, 0, '13');
    assert.deepEqual(positions(tracker), { 0: '15' });
    assert.equal(tracker.pendingCount(T, 0), 0);
  });

  test('partitions advance independently', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    trackAll(tracker, 1, [0, 1]);
    tracker.done(T, 1, '0');
    tracker.done(T, 1, '1');
    tracker.done(T, 0, '1');
    assert.deepEqual(positions(tracker), { 1: '2' });
    assert.equal(tracker.pendingCount(T, 0), 2);
    assert.equal(tracker.pendingCount(T, 1), 0);
  });

  test('offsets beyond 2^53 keep every digit', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, ['9007199254740992', '9007199254740993']);
    tracker.done(T, 0, '9007199254740993');
    assert.deepEqual(positions(tracker), {});
    tracker.done(T, 0, '9007199254740992');
    assert.deepEqual(positions(tracker), { 0: '9007199254740994' });
    assert.equal(tracker.track(T, 0, '9007199254740993'), false, 'a re-fetch is recognised at full precision');
    assert.equal(tracker.track(T, 0, '9007199254740994'), true);
  });

  test('track returns false for offsets at or below the highest taken in (a re-fetch), and does not queue them', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [5, 6, 7]);
    assert.equal(tracker.track(T, 0, '7'), false);
    assert.equal(tracker.track(T, 0, '5'), false);
    assert.equal(tracker.track(T, 0, '0'), false);
    assert.equal(tracker.pendingCount(T, 0), 3);
    assert.equal(tracker.track(T, 0, '8'), true);
    assert.equal(tracker.pendingCount(T, 0), 4);
    assert.equal(tracker.track(T, 1, '0'), true, 'another partition has its own history');
  });

  test('offsets need not be numerically contiguous (compacted topics): only tracked offsets count', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [3, 7, 20]);
    tracker.done(T, 0, '3');
    tracker.done(T, 0, '7');
    assert.deepEqual(positions(tracker), { 0: '8' });
    tracker.done(T, 0, '20');
    assert.deepEqual(positions(tracker), { 0: '21' });
  });

  test('passOver with earlier offsets pending moves nothing until they are done', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    assert.equal(tracker.passOver(T, 0, '2'), true);
    assert.deepEqual(positions(tracker), {});
    assert.equal(tracker.pendingCount(T, 0), 3);
    tracker.done(T, 0, '0');
    assert.deepEqual(positions(tracker), { 0: '1' });
    tracker.done(T, 0, '1');
    assert.deepEqual(positions(tracker), { 0: '3' }, 'the control record at 2 is passed over once 0 and 1 are done');
    assert.equal(tracker.pendingCount(T, 0), 0);
  });

  test('passOver with everything earlier done moves the position past it at once', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    tracker.done(T, 0, '0');
    tracker.done(T, 0, '1');
    assert.equal(tracker.passOver(T, 0, '2'), true);
    assert.deepEqual(positions(tracker), { 0: '3' });
    assert.equal(tracker.passOver(T, 1, '0'), true, 'a control record as the first thing seen on a partition');
    assert.deepEqual(positions(tracker), { 0: '3', 1: '1' });
  });

  test('passOver of an offset already taken in is refused and changes nothing', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    assert.equal(tracker.passOver(T, 0, '1'), false);
    assert.equal(tracker.pendingCount(T, 0), 2);
    tracker.done(T, 0, '0');
    assert.deepEqual(positions(tracker), { 0: '1' }, 'offset 1 still needs its own outcome');
  });

  test('uncommitted/markCommitted round trip: a position is reported once, then again only when it advances', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1, 2]);
    trackAll(tracker, 1, [0]);
    tracker.done(T, 0, '0');
    tracker.done(T, 1, '0');
    const first = tracker.uncommitted();
    assert.deepEqual(
      [...first].sort((a, b) => a.partition - b.partition),
      [
        { topic: T, partition: 0, offset: '1' },
        { topic: T, partition: 1, offset: '1' },
      ] satisfies CommitPosition[],
    );
    tracker.markCommitted(first);
    assert.deepEqual(tracker.uncommitted(), []);
    assert.equal(tracker.committedOffset(T, 0), '1');
    assert.equal(tracker.committedOffset(T, 1), '1');

    tracker.done(T, 0, '1');
    assert.deepEqual(tracker.uncommitted(), [{ topic: T, partition: 0, offset: '2' }]);
    tracker.markCommitted([{ topic: T, partition: 0, offset: '2' }]);
    assert.deepEqual(tracker.uncommitted(), []);
    assert.equal(tracker.committedOffset(T, 0), '2');
  });

  test('markCommitted never moves the committed position backwards', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    tracker.done(T, 0, '0');
    tracker.done(T, 0, '1');
    tracker.markCommitted([{ topic: T, partition: 0, offset: '2' }]);
    tracker.markCommitted([{ topic: T, partition: 0, offset: '1' }]); // a late, older commit result
    assert.equal(tracker.committedOffset(T, 0), '2');
    assert.deepEqual(tracker.uncommitted(), []);
  });

  test('forget drops a partition: no position, no pending, later done() ignored, offsets can be taken in again', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    trackAll(tracker, 1, [0]);
    tracker.done(T, 0, '0');
    tracker.forget(T, 0);
    assert.deepEqual(positions(tracker), {});
    assert.equal(tracker.pendingCount(T, 0), 0);
    assert.equal(tracker.committedOffset(T, 0), null);
    assert.deepEqual(tracker.partitions(), [{ topic: T, partition: 1 }]);
    tracker.done(T, 0, '1'); // an outcome of the revoked partition acknowledged late
    assert.deepEqual(positions(tracker), {});
    assert.equal(tracker.track(T, 0, '0'), true, 'after reassignment the partition starts afresh');
    assert.equal(tracker.pendingCount(T, 0), 1);
  });

  test('pendingCount counts taken-in offsets without an outcome, through many offsets in and out', () => {
    const tracker = new OffsetTracker();
    const n = 5000;
    for (let i = 0; i < n; i++) tracker.track(T, 0, String(i));
    assert.equal(tracker.pendingCount(T, 0), n);
    for (let i = 0; i < 3000; i++) tracker.done(T, 0, String(i));
    assert.equal(tracker.pendingCount(T, 0), n - 3000);
    assert.deepEqual(positions(tracker), { 0: '3000' });
    // done out of order across the rest, with fresh offsets arriving in between
    for (let i = n - 1; i >= 3000; i--) tracker.done(T, 0, String(i));
    for (let i = n; i < n + 10; i++) tracker.track(T, 0, String(i));
    assert.deepEqual(positions(tracker), { 0: String(n) });
    assert.equal(tracker.pendingCount(T, 0), 10);
    for (let i = n; i < n + 10; i++) tracker.done(T, 0, String(i));
    assert.deepEqual(positions(tracker), { 0: String(n + 10) });
    assert.equal(tracker.pendingCount(T, 0), 0);
    assert.equal(tracker.pendingCount(T, 7), 0, 'an unknown partition has nothing pending');
  });

  test('committableWith tells the position a set of offsets would reach, without marking them', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1, 2, 3, 4, 5]);
    assert.equal(tracker.committableWith(T, 0, ['0', '1', '2']), '3');
    assert.equal(tracker.committableWith(T, 0, ['1', '2']), null, 'offset 0 is not done: nothing committable');
    assert.deepEqual(positions(tracker), {}, 'nothing was marked');
    tracker.done(T, 0, '0');
    assert.equal(tracker.committableWith(T, 0, ['1', '3']), '2', 'stops at the first gap');
    assert.equal(tracker.committableWith(T, 0, []), '1');
    assert.equal(tracker.committableWith(T, 9, ['0']), null, 'an unknown partition');
  });

  test('same-numbered partitions of two topics, in-order and out-of-order completion interleaved, stay apart', () => {
    const tracker = new OffsetTracker();
    for (let o = 0; o < 6; o++) {
      assert.equal(tracker.track(T, 0, String(o)), true);
      assert.equal(tracker.track('other', 0, String(o + 100)), true);
    }
    for (const o of [0, 1, 3]) tracker.done(T, 0, String(o)); // 3 ahead of the gap at 2
    for (const o of [100, 101, 102]) tracker.done('other', 0, String(o));
    assert.equal(tracker.committableWith(T, 0, []), '2');
    assert.equal(tracker.committableWith('other', 0, []), '103');
    tracker.done(T, 0, '2'); // fills the gap: 2 and 3 pass together
    tracker.done(T, 0, '4'); // in order again
    assert.equal(tracker.committableWith(T, 0, []), '5');
    tracker.forget('other', 0);
    assert.equal(tracker.has('other', 0), false);
    assert.equal(tracker.has(T, 0), true);
    assert.equal(tracker.track('other', 0, '100'), true, 'a forgotten partition takes offsets in again');
  });

  test('done() of an offset never taken in is ignored, so it cannot mark a later fetch as done', () => {
    const tracker = new OffsetTracker();
    trackAll(tracker, 0, [0, 1]);
    tracker.done(T, 0, '7');
    trackAll(tracker, 0, [2, 3, 4, 5, 6, 7]);
    for (const o of [0, 1, 2, 3, 4, 5, 6]) tracker.done(T, 0, String(o));
    assert.deepEqual(positions(tracker), { 0: '7' }, 'offset 7 still waits for its own outcome');
  });
});
