import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  computePlan,
  decodeStoredPlan,
  defaultReplayGroup,
  encodePartitionMetadata,
  parseOffsets,
  parseTimestamp,
  planTotal,
  rangeKey,
  replayFingerprint,
  type PartitionOffsets,
  type ReplayIdentity,
  type ReplayRange,
} from '../../../src/replay/plan.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';

const who = { id: 'streamserve-replay-abc', fingerprint: 'abc' };
const at = new Date('2026-01-02T03:04:05.000Z');
const beginning: ReplayRange = { start: { from: 'beginning' }, end: { until: 'end' } };

/** Three partitions: 0 holds 100..1000, 1 is empty at 50, 2 holds 0..10. */
const offsets: PartitionOffsets[] = [
  { partition: 2, low: '0', high: '10' },
  { partition: 0, low: '100', high: '1000' },
  { partition: 1, low: '50', high: '50' },
];

function configInvalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.CONFIG_INVALID && message.test(err.message));
}

describe('replay plan: parsing arguments', () => {
  test('timestamps: ISO-8601 dates (UTC) and zoned date-times', () => {
    assert.equal(parseTimestamp('from-timestamp', '2024-05-01'), Date.UTC(2024, 4, 1));
    assert.equal(parseTimestamp('from-timestamp', '2024-05-01T12:00:00Z'), Date.UTC(2024, 4, 1, 12));
    assert.equal(parseTimestamp('from-timestamp', '2024-05-01T12:00:00.250Z'), Date.UTC(2024, 4, 1, 12, 0, 0, 250));
    assert.equal(parseTimestamp('from-timestamp', '2024-05-01T14:00:00+02:00'), Date.UTC(2024, 4, 1, 12));
    assert.equal(parseTimestamp('from-timestamp', '2024-05-01T12:00Z'), Date.UTC(2024, 4, 1, 12));
  });

  test('timestamps: zone-less date-times, numbers and nonsense are refused, naming the flag', () => {
    for (const bad of ['2024-05-01T12:00:00', '1714564800000', 'yesterday', '2024-13-01', '']) {
      configInvalid(() => parseTimestamp('until-timestamp', bad), /--until-timestamp must be an ISO-8601/);
    }
  });

  test('offsets: partition:offset pairs', () => {
    assert.deepEqual([...parseOffsets('0:100, 2:0,1:5')], [[0, 100n], [2, 0n], [1, 5n]]);
    configInvalid(() => parseOffsets('0=100'), /partition:offset pairs/);
    configInvalid(() => parseOffsets('0:-1'), /partition:offset pairs/);
    configInvalid(() => parseOffsets('0:1,0:2'), /partition 0 twice/);
    configInvalid(() => parseOffsets(' , '), /at least one/);
  });
});

describe('replay plan: identity', () => {
  const identity: ReplayIdentity = {
    inputTopic: 'in',
    targetTopic: 'out',
    deadLetterTopic: 'dlq',
    range: beginning,
    model: { name: 'borehole', version: '1.0.0' },
  };

  test('the same replay always gets the same group; any difference gets another', () => {
    const fp = replayFingerprint(identity);
    assert.match(fp, /^[0-9a-f]{12}$/);
    assert.equal(replayFingerprint({ ...identity, range: { start: { from: 'beginning' }, end: { until: 'end' } } }), fp);
    assert.equal(defaultReplayGroup(fp), `streamserve-replay-${fp}`);
    const others: ReplayIdentity[] = [
      { ...identity, inputTopic: 'in2' },
      { ...identity, targetTopic: 'out2' },
      { ...identity, deadLetterTopic: 'dlq2' },
      { ...identity, model: { name: 'borehole', version: '1.0.1' } },
      { ...identity, range: { start: { from: 'timestamp', ms: 0 }, end: { until: 'end' } } },
      { ...identity, range: { start: { from: 'beginning' }, end: { until: 'timestamp', ms: 1 } } },
    ];
    for (const other of others) assert.notEqual(replayFingerprint(other), fp);
  });

  test('range keys are canonical: offsets in partition order, timestamps as epoch ms', () => {
    const a: ReplayRange = { start: { from: 'offsets', offsets: new Map([[1, 5n], [0, 7n]]) }, end: { until: 'end' } };
    const b: ReplayRange = { start: { from: 'offsets', offsets: new Map([[0, 7n], [1, 5n]]) }, end: { until: 'end' } };
    assert.equal(rangeKey(a), rangeKey(b));
    assert.equal(rangeKey(a), 'offsets:0:7,1:5..end');
    const t1 = parseTimestamp('x', '2024-05-01T12:00:00Z');
    const t2 = parseTimestamp('x', '2024-05-01T14:00:00.000+02:00');
    assert.equal(rangeKey({ start: { from: 'timestamp', ms: t1 }, end: { until: 'end' } }), rangeKey({ start: { from: 'timestamp', ms: t2 }, end: { until: 'end' } }));
  });
});

describe('replay plan: resolving a range', () => {
  test('from the beginning to the ends now: low..high of every partition, in partition order', () => {
    const { plan, warnings } = computePlan(who, 'in', beginning, offsets, at);
    assert.deepEqual(plan, {
      ...who,
      topic: 'in',
      createdAt: '2026-01-02T03:04:05.000Z',
      partitions: [
        { partition: 0, start: '100', end: '1000' },
        { partition: 1, start: '50', end: '50' },
        { partition: 2, start: '0', end: '10' },
      ],
    });
    assert.deepEqual(warnings, []);
    assert.equal(planTotal(plan), 910);
  });

  test('from a timestamp: the broker-resolved offsets, clamped to what the partition holds', () => {
    const withTs = offsets.map((o) => ({ ...o, startAtTimestamp: { 0: '400', 1: '50', 2: '10' }[o.partition]! }));
    const range: ReplayRange = { start: { from: 'timestamp', ms: 5 }, end: { until: 'end' } };
    const { plan } = computePlan(who, 'in', range, withTs, at);
    assert.deepEqual(plan.partitions.map((p) => [p.start, p.end]), [['400', '1000'], ['50', '50'], ['10', '10']]);
    assert.equal(planTotal(plan), 600);
  });

  test('until a timestamp: end is the first offset at or after it, never past the end captured now', () => {
    const withTs = offsets.map((o) => ({ ...o, endAtTimestamp: { 0: '700', 1: '50', 2: '99' }[o.partition]! }));
    const range: ReplayRange = { start: { from: 'beginning' }, end: { until: 'timestamp', ms: 5 } };
    const { plan } = computePlan(who, 'in', range, withTs, at);
    assert.deepEqual(plan.partitions.map((p) => [p.start, p.end]), [['100', '700'], ['50', '50'], ['0', '10']]);
  });

  test('an end before the start is an empty range, not a negative one', () => {
    const withTs = offsets.map((o) => ({ ...o, startAtTimestamp: '600', endAtTimestamp: '500' }));
    const range: ReplayRange = { start: { from: 'timestamp', ms: 1 }, end: { until: 'timestamp', ms: 2 } };
    const { plan } = computePlan(who, 'in', range, withTs.filter((o) => o.partition === 0), at);
    assert.deepEqual(plan.partitions, [{ partition: 0, start: '600', end: '600' }]);
    assert.equal(planTotal(plan), 0);
  });

  test('until must be later than from', () => {
    const range: ReplayRange = { start: { from: 'timestamp', ms: 10 }, end: { until: 'timestamp', ms: 10 } };
    configInvalid(() => computePlan(who, 'in', range, offsets, at), /--until-timestamp must be later/);
  });

  test('from offsets: listed partitions start there (clamped, with a warning); unlisted ones are not replayed', () => {
    const range: ReplayRange = { start: { from: 'offsets', offsets: new Map([[0, 50n], [2, 4n]]) }, end: { until: 'end' } };
    const { plan, warnings } = computePlan(who, 'in', range, offsets, at);
    assert.deepEqual(plan.partitions.map((p) => [p.partition, p.start, p.end]), [[0, '100', '1000'], [1, '50', '50'], [2, '4', '10']]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /partition 0: offset 50 is outside 100\.\.1000; starting at 100/);
  });

  test('from offsets naming a partition the topic lacks is refused', () => {
    const range: ReplayRange = { start: { from: 'offsets', offsets: new Map([[7, 0n]]) }, end: { until: 'end' } };
    configInvalid(() => computePlan(who, 'in', range, offsets, at), /partition\(s\) 7, which in does not have/);
  });
});

describe('replay plan: stored as committed-offset metadata', () => {
  const { plan } = computePlan(who, 'in', beginning, offsets, at);
  const entries = (offsetsByPartition: Record<number, string>) =>
    plan.partitions.map((p) => ({ partition: p.partition, offset: offsetsByPartition[p.partition] ?? p.start, metadata: encodePartitionMetadata(plan, p) }));

  test('round trip: the plan and the group positions come back', () => {
    const stored = decodeStoredPlan('in', entries({ 0: '500' }), who);
    assert.equal(stored.kind, 'plan');
    if (stored.kind !== 'plan') return;
    assert.deepEqual(stored.plan, plan);
    assert.deepEqual([...stored.committed], [[0, '500'], [1, '50'], [2, '0']]);
  });

  test('one partition fits the broker default offset.metadata.max.bytes (4096) many times over', () => {
    assert.ok(encodePartitionMetadata(plan, plan.partitions[0]!).length < 300);
  });

  test('a group with no committed offsets holds no plan', () => {
    assert.deepEqual(decodeStoredPlan('in', [], who), { kind: 'none' });
    assert.deepEqual(decodeStoredPlan('in', [{ partition: 0, offset: '-1', metadata: null }], who), { kind: 'none' });
  });

  test('partitions the group never committed (added to the topic later) are not part of the plan', () => {
    const stored = decodeStoredPlan('in', [...entries({}), { partition: 3, offset: '-1', metadata: null }], who);
    assert.equal(stored.kind, 'plan');
    if (stored.kind === 'plan') assert.deepEqual(stored.plan.partitions.map((p) => p.partition), [0, 1, 2]);
  });

  test('offsets without our metadata, or with another replay\'s, are foreign', () => {
    const plain = entries({}).map((e, i) => (i === 1 ? { ...e, metadata: '' } : e));
    assert.equal(decodeStoredPlan('in', plain, who).kind, 'foreign');
    assert.equal(decodeStoredPlan('in', entries({}).map((e) => ({ ...e, metadata: '{"x":1}' })), who).kind, 'foreign');
    assert.equal(decodeStoredPlan('in', entries({}).map((e) => ({ ...e, metadata: 'not json' })), who).kind, 'foreign');
    const other = decodeStoredPlan('in', entries({}), { ...who, fingerprint: 'def' });
    assert.equal(other.kind, 'foreign');
    if (other.kind === 'foreign') assert.match(other.reason, /another replay/);
  });
});
