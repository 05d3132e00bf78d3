import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayProgress, formatDuration, progressLine } from '../../../src/replay/progress.js';
import type { ReplayPlan } from '../../../src/replay/plan.js';

const plan: ReplayPlan = {
  id: 'streamserve-replay-abc',
  fingerprint: 'abc',
  topic: 'in',
  createdAt: '2026-01-02T03:04:05.000Z',
  partitions: [
    { partition: 0, start: '100', end: '1100' },
    { partition: 1, start: '0', end: '0' },
    { partition: 2, start: '0', end: '3000' },
  ],
};

function manualClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('ReplayProgress', () => {
  test('done and total come from committed positions; empty partitions are done from the start', () => {
    const p = new ReplayProgress({ plan });
    assert.equal(p.total, 4000);
    assert.equal(p.done, 0);
    assert.equal(p.complete, false);
    p.observe(0, '600');
    p.observe(2, '1000');
    assert.equal(p.done, 1500);
    const s = p.snapshot();
    assert.deepEqual(
      s.partitions.map((x) => [x.partition, x.committed, x.done, x.total]),
      [[0, '600', 500, 1000], [1, '0', 0, 0], [2, '1000', 1000, 3000]],
    );
    assert.equal(s.percent, 37.5);
    assert.equal(s.remaining, 2500);
  });

  test('complete exactly when every partition reached its end (end is exclusive)', () => {
    const p = new ReplayProgress({ plan });
    p.observe(0, '1100');
    p.observe(2, '2999');
    assert.equal(p.complete, false);
    p.observe(2, '3000');
    assert.equal(p.complete, true);
    assert.equal(p.snapshot().percent, 100);
    assert.equal(p.snapshot().eta, 0);
  });

  test('positions only move forward, are clamped to the range, and partitions outside the plan are ignored', () => {
    const p = new ReplayProgress({ plan, committed: new Map([[0, '800']]) });
    assert.equal(p.done, 700, 'a resume starts from the group position');
    p.observe(0, '200');
    p.observe(0, null);
    assert.equal(p.done, 700);
    p.observe(0, '5000');
    assert.equal(p.snapshot().partitions[0]!.done, 1000);
    p.observe(9, '100');
    assert.equal(p.snapshot().partitions.length, 3);
  });

  test('rate over the recent window, and the ETA it gives', () => {
    const clock = manualClock();
    const p = new ReplayProgress({ plan, now: clock.now, windowMs: 10_000 });
    p.sample();
    assert.equal(p.snapshot().rate, 0);
    assert.equal(p.snapshot().eta, null, 'unknown until the rate is');
    clock.advance(1000);
    p.observe(2, '500');
    p.sample();
    assert.equal(p.snapshot().rate, 500);
    assert.equal(p.snapshot().eta, 7, '3500 remaining at 500/s');
    // faster now: after the window passes, the old slow samples no longer count
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      p.observe(2, String(500 + (i + 1) * 100));
      p.sample();
    }
    assert.equal(p.snapshot().rate, 100);
  });

  test('a stalled replay has rate 0 and no ETA once the window passes', () => {
    const clock = manualClock();
    const p = new ReplayProgress({ plan, now: clock.now, windowMs: 5000 });
    p.sample();
    clock.advance(1000);
    p.observe(0, '600');
    p.sample();
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      p.sample();
    }
    assert.equal(p.snapshot().rate, 0);
    assert.equal(p.snapshot().eta, null);
  });

  test('an empty plan is complete at once', () => {
    const p = new ReplayProgress({ plan: { ...plan, partitions: [{ partition: 0, start: '5', end: '5' }] } });
    assert.equal(p.complete, true);
    assert.equal(p.snapshot().percent, 100);
  });
});

describe('progress text', () => {
  test('durations', () => {
    assert.equal(formatDuration(null), '?');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(95), '1m 35s');
    assert.equal(formatDuration(3 * 3600 + 7 * 60 + 5), '3h 07m');
  });

  test('one line: done/total, percent, rate, ETA', () => {
    const p = new ReplayProgress({ plan });
    p.observe(2, '1000');
    assert.equal(progressLine(p.snapshot()), '1000/4000 records (25.0%), 0/s, ETA ?');
  });
});
