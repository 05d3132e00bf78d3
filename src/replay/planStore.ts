import { Partitioners, type Admin, type Kafka, type PartitionOffset } from 'kafkajs';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import {
  computePlan,
  decodeStoredPlan,
  encodePartitionMetadata,
  type PartitionOffsets,
  type PlanResult,
  type ReplayRange,
  type StoredPlan,
  type ReplayPlan,
} from './plan.js';

/**
 * Where a replay's plan lives: in the replay group's own committed offsets, as each partition's offset metadata.
 *
 * Why there: the plan and the progress are then one thing, in one place, read and written together. A re-run on any
 * machine (a rescheduled pod, another host) finds both with the group; resetting or deleting the group forgets both
 * at once, so a stale plan can never outlive its offsets or the other way round. It needs no extra topic, no local
 * state directory, and no permissions beyond the group's. Every commit carries the metadata again (the source and
 * the transactional sink are handed it), because Kafka replaces the metadata with each commit.
 *
 * A new plan is written before the first record is read — the start offsets, committed with the plan, in one
 * transaction — so even a replay killed before its first commit resumes the same range, and its consumer starts at
 * the planned start without seeking.
 */

/** Reads the group's committed offsets for the topic and decodes the plan they carry. */
export async function readStoredPlan(admin: Admin, group: string, topic: string, expected: { id: string; fingerprint: string }): Promise<StoredPlan> {
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return decodeStoredPlan(topic, offsets?.partitions ?? [], expected);
}

/** Resolves the range against the topic as it is now (offsets, and timestamps through the broker's time index). */
export async function resolvePlan(
  admin: Admin,
  who: { id: string; fingerprint: string },
  topic: string,
  range: ReplayRange,
  now: Date = new Date(),
): Promise<PlanResult> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const byPartition = new Map<number, PartitionOffsets>(offsets.map((o) => [o.partition, { partition: o.partition, low: o.low, high: o.high }]));
  if (range.start.from === 'timestamp') {
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, range.start.ms)) byPartition.get(o.partition)!.startAtTimestamp = o.offset;
  }
  if (range.end.until === 'timestamp') {
    for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, range.end.ms)) byPartition.get(o.partition)!.endAtTimestamp = o.offset;
  }
  return computePlan(who, topic, range, [...byPartition.values()], now);
}

/**
 * Commits the plan's start offsets, each with its partition's plan as metadata, in one transaction (a group with no
 * members takes offsets only from a transactional producer or a member; kafkajs' admin cannot attach metadata).
 */
export async function writePlan(kafka: Kafka, group: string, transactionalId: string, plan: ReplayPlan): Promise<void> {
  const producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    const tx = await producer.transaction();
    try {
      // kafkajs passes `metadata` through to TxnOffsetCommit, though its types leave it out.
      const partitions = plan.partitions.map(
        (p): PartitionOffset & { metadata: string } => ({ partition: p.partition, offset: p.start, metadata: encodePartitionMetadata(plan, p) }),
      );
      await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: plan.topic, partitions }] });
      await tx.commit();
    } catch (err) {
      if (tx.isActive()) await tx.abort().catch(() => {});
      throw err;
    }
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `cannot store the replay plan in group ${group}: ${messageOf(cause)}`, { cause });
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

/**
 * Waits until the group's committed offsets show the plan. A transaction's offsets become visible only once the
 * broker has written its commit markers, which happens after commit() returns; the consumer must not join before.
 */
export async function awaitStoredPlan(
  admin: Admin,
  group: string,
  plan: ReplayPlan,
  timeoutMs = 30_000,
): Promise<Extract<StoredPlan, { kind: 'plan' }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = await readStoredPlan(admin, group, plan.topic, plan);
    if (stored.kind === 'plan' && stored.plan.partitions.length === plan.partitions.length) return stored;
    if (Date.now() > deadline) {
      throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `the replay plan written to group ${group} did not become visible within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
