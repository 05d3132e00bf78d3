import type { CommittedEntry } from '../kafka/groupOffsets.js';
import { createHash } from 'node:crypto';
import { invalidArguments } from '../errors.js';

/**
 * A replay's range and plan, without I/O. The range is what the operator asked for (flags); the plan is that range
 * resolved against the topic once, when the replay first starts: a start and an exclusive end offset per partition.
 * The plan is stored with the replay group's committed offsets (planStore.ts), so a re-run resumes the same range.
 */

export type ReplayStart =
  | { from: 'beginning' }
  | { from: 'timestamp'; ms: number }
  /** Partitions not listed are not replayed. */
  | { from: 'offsets'; offsets: ReadonlyMap<number, bigint> };

/** `end`: the partition ends captured when the replay starts; `timestamp`: the first offset at or after it (exclusive). */
export type ReplayEnd = { until: 'end' } | { until: 'timestamp'; ms: number };

export interface ReplayRange {
  start: ReplayStart;
  end: ReplayEnd;
}

export interface PartitionPlan {
  partition: number;
  /** First offset to score. */
  start: string;
  /** Exclusive: the offset after the last record of the range. */
  end: string;
}

export interface ReplayPlan {
  /** The replay's id: its consumer group, stamped on every outcome (`streamserve.replay`). */
  id: string;
  /** replayFingerprint() of what was asked for. */
  fingerprint: string;
  topic: string;
  /** When the plan was resolved (ISO-8601): later records are not part of the replay. */
  createdAt: string;
  partitions: PartitionPlan[];
}

/** What the broker says about one partition when the plan is made. */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
  /** --from-timestamp: the first offset whose timestamp is at or after it (high when none). */
  startAtTimestamp?: string;
  /** --until-timestamp: likewise, for the end. */
  endAtTimestamp?: string;
}


// A date (taken as UTC midnight), or a date-time with a zone; a zone-less date-time would silently mean local time.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** Epoch milliseconds of an ISO-8601 date or zoned date-time (`2024-05-01`, `2024-05-01T12:00:00Z`, `...+02:00`). */
export function parseTimestamp(flag: string, value: string): number {
  const v = value.trim();
  const ms = ISO_8601.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw invalidArguments(`--${flag} must be an ISO-8601 date or date-time with a zone, e.g. 2024-05-01T12:00:00Z (got ${JSON.stringify(value)})`);
  }
  return ms;
}

/** `0:1200,1:1180,2:1300` → partition → offset. */
export function parseOffsets(value: string): Map<number, bigint> {
  const out = new Map<number, bigint>();
  for (const part of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d+):(\d+)$/.exec(part);
    if (!m) throw invalidArguments(`--from-offsets takes partition:offset pairs separated by commas, e.g. 0:100,1:250 (got ${JSON.stringify(part)})`);
    const partition = Number(m[1]);
    if (out.has(partition)) throw invalidArguments(`--from-offsets names partition ${partition} twice`);
    out.set(partition, BigInt(m[2]!));
  }
  if (out.size === 0) throw invalidArguments('--from-offsets needs at least one partition:offset pair');
  return out;
}

/** The range as a canonical string: the same range always gives the same text (timestamps as epoch ms). */
export function rangeKey(range: ReplayRange): string {
  const s = range.start;
  const start =
    s.from === 'beginning'
      ? 'beginning'
      : s.from === 'timestamp'
        ? `timestamp:${s.ms}`
        : `offsets:${[...s.offsets].sort(([a], [b]) => a - b).map(([p, o]) => `${p}:${o}`).join(',')}`;
  const end = range.end.until === 'end' ? 'end' : `timestamp:${range.end.ms}`;
  return `${start}..${end}`;
}

/** Human words for a range, for logs and the dry run. */
export function describeRange(range: ReplayRange): string {
  const s = range.start;
  const from =
    s.from === 'beginning'
      ? 'from the beginning'
      : s.from === 'timestamp'
        ? `from ${new Date(s.ms).toISOString()}`
        : `from offsets ${[...s.offsets].map(([p, o]) => `${p}:${o}`).join(',')}`;
  const until = range.end.until === 'end' ? 'to the end offsets captured at the start' : `until ${new Date(range.end.ms).toISOString()} (exclusive)`;
  return `${from} ${until}`;
}

export interface ReplayIdentity {
  inputTopic: string;
  targetTopic: string;
  deadLetterTopic: string;
  range: ReplayRange;
  model: { name: string; version: string };
}

/**
 * A hash of everything that makes two replays the same one — the topics, the range and the model. The default
 * replay group is named after it, so re-running the same command resumes, while a new model version (the usual
 * reason to re-score) is a new replay. It is also stored with the plan, so a group reused for another replay is
 * refused rather than resumed with the wrong range.
 */
export function replayFingerprint(identity: ReplayIdentity): string {
  const canonical = JSON.stringify([
    1,
    identity.inputTopic,
    identity.targetTopic,
    identity.deadLetterTopic,
    rangeKey(identity.range),
    identity.model.name,
    identity.model.version,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

export function defaultReplayGroup(fingerprint: string): string {
  return `streamserve-replay-${fingerprint}`;
}

export interface PlanResult {
  plan: ReplayPlan;
  /** Adjustments the operator should hear about (offsets clamped to what the topic holds). */
  warnings: string[];
}

/**
 * Resolves a range against the partitions' offsets as they are now. Every start and end is clamped to
 * [low, high]: records already deleted cannot be replayed, and records produced from now on are not part of it.
 */
export function computePlan(
  who: { id: string; fingerprint: string },
  topic: string,
  range: ReplayRange,
  partitions: readonly PartitionOffsets[],
  createdAt: Date,
): PlanResult {
  const warnings: string[] = [];
  const known = new Set(partitions.map((p) => p.partition));
  if (range.start.from === 'offsets') {
    const unknown = [...range.start.offsets.keys()].filter((p) => !known.has(p));
    if (unknown.length > 0) throw invalidArguments(`--from-offsets names partition(s) ${unknown.join(', ')}, which ${topic} does not have`);
  }
  if (range.start.from === 'timestamp' && range.end.until === 'timestamp' && range.end.ms <= range.start.ms) {
    throw invalidArguments('--until-timestamp must be later than --from-timestamp');
  }
  const clamp = (o: bigint, low: bigint, high: bigint) => (o < low ? low : o > high ? high : o);
  const planned = [...partitions]
    .sort((a, b) => a.partition - b.partition)
    .map((p): PartitionPlan => {
      const low = BigInt(p.low);
      const high = BigInt(p.high);
      let start: bigint;
      switch (range.start.from) {
        case 'beginning':
          start = low;
          break;
        case 'timestamp':
          start = clamp(BigInt(need(p.startAtTimestamp, 'startAtTimestamp', p.partition)), low, high);
          break;
        case 'offsets': {
          const asked = range.start.offsets.get(p.partition);
          if (asked === undefined) start = high; // not listed: nothing to replay
          else {
            start = clamp(asked, low, high);
            if (start !== asked) {
              warnings.push(`partition ${p.partition}: offset ${asked} is outside ${low}..${high}; starting at ${start}`);
            }
          }
          break;
        }
      }
      let end = range.end.until === 'end' ? high : clamp(BigInt(need(p.endAtTimestamp, 'endAtTimestamp', p.partition)), low, high);
      if (end < start) end = start;
      return { partition: p.partition, start: start.toString(), end: end.toString() };
    });
  return { plan: { id: who.id, fingerprint: who.fingerprint, topic, createdAt: createdAt.toISOString(), partitions: planned }, warnings };
}

function need(value: string | undefined, name: string, partition: number): string {
  if (value === undefined) throw new Error(`computePlan: ${name} missing for partition ${partition}`);
  return value;
}

/** Records in the plan (offsets spanned: on compacted or transactional topics the records can be fewer). */
export function planTotal(plan: ReplayPlan): number {
  return plan.partitions.reduce((n, p) => n + Number(BigInt(p.end) - BigInt(p.start)), 0);
}

// --- The plan as committed-offset metadata (one small JSON document per partition) ---

const METADATA_VERSION = 1;

interface PartitionMetadata {
  'streamserve.replay': typeof METADATA_VERSION;
  id: string;
  fingerprint: string;
  createdAt: string;
  start: string;
  end: string;
}

/** The metadata committed with one partition's offset: the replay id, and that partition's start and end. */
export function encodePartitionMetadata(plan: ReplayPlan, partition: PartitionPlan): string {
  const doc: PartitionMetadata = {
    'streamserve.replay': METADATA_VERSION,
    id: plan.id,
    fingerprint: plan.fingerprint,
    createdAt: plan.createdAt,
    start: partition.start,
    end: partition.end,
  };
  return JSON.stringify(doc);
}

/** A committed offset as the group holds it (offset "-1": none). */
export type { CommittedEntry };

export type StoredPlan =
  /** The group has committed nothing: a new replay. */
  | { kind: 'none' }
  /** `committed`: the group's position per partition of the plan. */
  | { kind: 'plan'; plan: ReplayPlan; committed: Map<number, string> }
  /** The group has offsets that carry no replay plan of ours (or a different one). */
  | { kind: 'foreign'; reason: string };

/** Reads a plan back from the group's committed offsets and their metadata. */
export function decodeStoredPlan(topic: string, entries: readonly CommittedEntry[], expected: { id: string; fingerprint: string }): StoredPlan {
  const committed = entries.filter((e) => e.offset !== '-1' && e.offset !== '');
  if (committed.length === 0) return { kind: 'none' };
  const partitions: PartitionPlan[] = [];
  const positions = new Map<number, string>();
  let createdAt: string | null = null;
  for (const e of committed) {
    const doc = parseMetadata(e.metadata);
    if (doc === null) return { kind: 'foreign', reason: `partition ${e.partition} has a committed offset without a replay plan` };
    if (doc.id !== expected.id || doc.fingerprint !== expected.fingerprint) {
      return { kind: 'foreign', reason: `it holds the plan of another replay (other topics, range or model: ${doc.fingerprint})` };
    }
    if (createdAt !== null && doc.createdAt !== createdAt) {
      return { kind: 'foreign', reason: `partition ${e.partition} holds a plan made at ${doc.createdAt}, others at ${createdAt}` };
    }
    createdAt = doc.createdAt;
    partitions.push({ partition: e.partition, start: doc.start, end: doc.end });
    positions.set(e.partition, e.offset);
  }
  partitions.sort((a, b) => a.partition - b.partition);
  return { kind: 'plan', plan: { ...expected, topic, createdAt: createdAt!, partitions }, committed: positions };
}

function parseMetadata(text: string | null): PartitionMetadata | null {
  if (text === null || text === '') return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, unknown>;
  const offset = (v: unknown) => typeof v === 'string' && /^\d+$/.test(v);
  if (d['streamserve.replay'] !== METADATA_VERSION || typeof d.id !== 'string' || typeof d.fingerprint !== 'string' || typeof d.createdAt !== 'string') {
    return null;
  }
  if (!offset(d.start) || !offset(d.end) || BigInt(d.end as string) < BigInt(d.start as string)) return null;
  return d as unknown as PartitionMetadata;
}
