import type { KafkaClient } from '../kafka/client.js';
import type { GroupOffsets } from '../kafka/groupOffsets.js';
import { commitOffsetsInTransaction } from '../kafka/offsetCommit.js';
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
export async function readStoredPlan(offsets: GroupOffsets, topic: string, expected: { id: string; fingerprint: string }): Promise<StoredPlan> {
  return decodeStoredPlan(topic, await offsets.committedEntries(topic), expected);
}

/** Resolves the range against the topic as it is now (offsets, and timestamps through the broker's time index). */
export async function resolvePlan(
  offsets: GroupOffsets,
  who: { id: string; fingerprint: string },
  topic: string,
  range: ReplayRange,
  now: Date = new Date(),
): Promise<PlanResult> {
  const byPartition = new Map<number, PartitionOffsets>((await offsets.range(topic)).map((o) => [o.partition, { ...o }]));
  if (range.start.from === 'timestamp') {
    for (const [partition, offset] of await offsets.atTime(topic, range.start.ms)) byPartition.get(partition)!.startAtTimestamp = offset;
  }
  if (range.end.until === 'timestamp') {
    for (const [partition, offset] of await offsets.atTime(topic, range.end.ms)) byPartition.get(partition)!.endAtTimestamp = offset;
  }
  return computePlan(who, topic, range, [...byPartition.values()], now);
}

/**
 * Commits the plan's start offsets, each with its partition's plan as metadata, in one transaction (a group with no
 * members takes offsets only from a transactional producer or a member; kafkajs' admin cannot attach metadata).
 */
export async function writePlan(kafka: KafkaClient, group: string, transactionalId: string, plan: ReplayPlan): Promise<void> {
  const partitions = plan.partitions.map((p) => ({ partition: p.partition, offset: p.start, metadata: encodePartitionMetadata(plan, p) }));
  try {
    await commitOffsetsInTransaction(kafka, { transactionalId, group, topic: plan.topic, partitions });
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `cannot store the replay plan in group ${group}: ${messageOf(cause)}`, { cause });
  }
}

/**
 * Waits until the group's committed offsets show the plan. A transaction's offsets become visible only once the
 * broker has written its commit markers, which happens after commit() returns; the consumer must not join before.
 */
export async function awaitStoredPlan(
  offsets: GroupOffsets,
  group: string,
  plan: ReplayPlan,
  timeoutMs = 30_000,
): Promise<Extract<StoredPlan, { kind: 'plan' }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = await readStoredPlan(offsets, plan.topic, plan);
    if (stored.kind === 'plan' && stored.plan.partitions.length === plan.partitions.length) return stored;
    if (Date.now() > deadline) {
      throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `the replay plan written to group ${group} did not become visible within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
