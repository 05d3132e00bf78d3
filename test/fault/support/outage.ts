/**
 * What an operator and a downstream reader see during a model outage: /readyz over HTTP, and whether the group's
 * committed offsets stay behind the predictions on the output topic (nothing committed past an input that has no
 * prediction yet).
 */
import { createKafka, withTimeout } from '../../support/kafka.js';
import type { Outcome } from './tally.js';

export interface ReadyzAnswer {
  status: number;
  checks: Record<string, boolean>;
}

/** GET /readyz on the admin port, as a load balancer would ask it. */
export async function readyz(port: number): Promise<ReadyzAnswer> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
  const body = (await res.json()) as { checks?: Record<string, boolean> };
  return { status: res.status, checks: body.checks ?? {} };
}

export interface PartitionOffsets {
  /** The group's committed offset (the next input to read), or the log start when nothing is committed. */
  committed: number;
  low: number;
  high: number;
}

/** Per partition of `topic`: the group's committed offset against the log's start and end. */
export async function committedOffsets(brokers: string[], groupId: string, topic: string): Promise<Map<number, PartitionOffsets>> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    return new Map(
      ends.map((e) => {
        const c = byPartition.get(e.partition) ?? -1;
        return [e.partition, { committed: c < 0 ? Number(e.low) : c, low: Number(e.low), high: Number(e.high) }];
      }),
    );
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}

/** Committed offsets only, per partition, for comparing two samples. */
export function committedOnly(offsets: ReadonlyMap<number, PartitionOffsets>): Record<number, number> {
  return Object.fromEntries([...offsets].map(([p, o]) => [p, o.committed]));
}

/** Inputs not yet committed, summed over partitions. */
export function uncommitted(offsets: ReadonlyMap<number, PartitionOffsets>): number {
  let lag = 0;
  for (const o of offsets.values()) lag += o.high - o.committed;
  return lag;
}

/**
 * Input offsets below the committed offset that have no prediction among `outcomes` (read after the offsets were
 * fetched: a commit follows the write of its outcomes, so every committed input must be there). `partition@offset`.
 */
export function committedWithoutPrediction(offsets: ReadonlyMap<number, PartitionOffsets>, outcomes: readonly Outcome[]): string[] {
  const predicted = new Map<number, Set<number>>();
  for (const o of outcomes) {
    if (o.kind !== 'prediction') continue;
    let set = predicted.get(o.sourcePartition);
    if (set === undefined) predicted.set(o.sourcePartition, (set = new Set()));
    set.add(o.sourceOffset);
  }
  const missing: string[] = [];
  for (const [partition, o] of offsets) {
    const set = predicted.get(partition);
    for (let offset = o.low; offset < o.committed; offset++) if (!set?.has(offset)) missing.push(`${partition}@${offset}`);
  }
  return missing;
}
