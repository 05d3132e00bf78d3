import { tpKey } from './records.js';

interface PartitionState {
  topic: string;
  partition: number;
  /** Offsets taken in, ascending, not yet known to be done; `head` indexes the oldest. */
  pending: bigint[];
  head: number;
  done: Set<bigint>;
  /** Highest offset ever taken in, so a re-fetch of records already in flight can be recognised. */
  highest: bigint;
  /** Next offset to commit (last contiguous done + 1), or null before anything is done. */
  committable: bigint | null;
  /** What the last successful commit wrote. */
  committed: bigint | null;
}

export interface CommitPosition {
  topic: string;
  partition: number;
  /** The next offset to read, as Kafka commits it. */
  offset: string;
}

/**
 * Tracks, per partition, which fetched offsets have an acknowledged outcome, and yields the offset that
 * is safe to commit: one past the last offset of the contiguous done prefix. An offset is never
 * committable before every offset below it is done — this is what makes "nothing lost" hold.
 */
export class OffsetTracker {
  #partitions = new Map<string, PartitionState>();
  /** Partitions lost to a newer owner (fenced) and not assigned again since: nothing of them is taken in. */
  readonly #lost = new Set<string>();
  /** The last partition looked up: records come in runs of one partition, so most lookups skip building the key. */
  #last: PartitionState | null = null;

  #get(topic: string, partition: number): PartitionState | undefined {
    const last = this.#last;
    if (last !== null && last.partition === partition && last.topic === topic) return last;
    const state = this.#partitions.get(tpKey(topic, partition));
    if (state) this.#last = state;
    return state;
  }

  /**
   * Registers the offsets of a fetched batch's records; returns null when every one is new, else which were already
   * taken in (true: a re-fetch after a rebalance, to be skipped).
   */
  trackAll(records: readonly { topic: string; partition: number; offset: string }[]): boolean[] | null {
    let refetched: boolean[] | null = null;
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (!this.track(r.topic, r.partition, r.offset)) (refetched ??= new Array<boolean>(records.length).fill(false))[i] = true;
    }
    return refetched;
  }

  /** Registers a fetched offset. Returns false if it was already taken in (a re-fetch after a rebalance). */
  track(topic: string, partition: number, offset: string): boolean {
    const o = BigInt(offset);
    let state = this.#get(topic, partition);
    if (!state) {
      if (this.#lost.size > 0 && this.#lost.has(tpKey(topic, partition))) return false;
      state = { topic, partition, pending: [], head: 0, done: new Set(), highest: -1n, committable: null, committed: null };
      this.#partitions.set(tpKey(topic, partition), state);
      this.#last = state;
    }
    if (o <= state.highest) return false;
    state.highest = o;
    state.pending.push(o);
    return true;
  }

  /**
   * Records that offsets up to `offset` need no outcome (control records, aborted transactions): once
   * everything before them is done, the committable position moves past them.
   */
  passOver(topic: string, partition: number, offset: string): boolean {
    if (!this.track(topic, partition, offset)) return false;
    this.done(topic, partition, offset);
    return true;
  }

  /** Marks an offset's outcome as acknowledged. Offsets of forgotten partitions are ignored. */
  done(topic: string, partition: number, offset: string): void {
    const state = this.#get(topic, partition);
    if (!state) return;
    const o = BigInt(offset);
    // Only offsets taken in and not yet passed: anything else would sit in `done` for good, or mark early an
    // offset fetched later.
    if (o > state.highest || state.head >= state.pending.length || o < state.pending[state.head]!) return;
    if (o === state.pending[state.head] && state.done.size === 0) {
      // In order (the usual case): the head moves on without going through the set.
      state.committable = o + 1n;
      state.head++;
      this.#compact(state);
      return;
    }
    state.done.add(o);
    while (state.head < state.pending.length && state.done.has(state.pending[state.head]!)) {
      const o = state.pending[state.head]!;
      state.done.delete(o);
      state.committable = o + 1n;
      state.head++;
    }
    this.#compact(state);
  }

  #compact(state: PartitionState): void {
    if (state.head > 1024 && state.head * 2 > state.pending.length) {
      state.pending = state.pending.slice(state.head);
      state.head = 0;
    }
  }

  /**
   * The committable offset once `offsets` are done too, without marking them: exactly-once commits this inside
   * the transaction that writes their outcomes, and marks them done only when it committed.
   */
  committableWith(topic: string, partition: number, offsets: readonly string[]): string | null {
    const s = this.#get(topic, partition);
    if (!s) return null;
    const extra = new Set(offsets.map((o) => BigInt(o)));
    let next = s.committable;
    for (let i = s.head; i < s.pending.length; i++) {
      const o = s.pending[i]!;
      if (!s.done.has(o) && !extra.has(o)) break;
      next = o + 1n;
    }
    return next === null ? null : next.toString();
  }

  /** Positions that advanced since the last `markCommitted`. */
  uncommitted(): CommitPosition[] {
    const out: CommitPosition[] = [];
    for (const s of this.#partitions.values()) {
      if (s.committable !== null && s.committable !== s.committed) {
        out.push({ topic: s.topic, partition: s.partition, offset: s.committable.toString() });
      }
    }
    return out;
  }

  markCommitted(positions: readonly CommitPosition[]): void {
    for (const p of positions) {
      const s = this.#get(p.topic, p.partition);
      if (!s) continue;
      const o = BigInt(p.offset);
      if (s.committed === null || o > s.committed) s.committed = o;
    }
  }

  /** Drops all state for a partition (revoked): its in-flight outcomes will not be committed by us. */
  forget(topic: string, partition: number): void {
    this.#partitions.delete(tpKey(topic, partition));
    this.#last = null;
  }

  /**
   * Drops a partition another owner took over (fenced) and refuses its records until `assigned` names it again: a
   * batch fetched before the rebalance must not start tracking it afresh, or a commit could pass over what was dropped.
   */
  lose(topic: string, partition: number): void {
    this.forget(topic, partition);
    this.#lost.add(tpKey(topic, partition));
  }

  /** Whether the partition was lost to a fence and not assigned again since. */
  isLost(topic: string, partition: number): boolean {
    return this.#lost.size > 0 && this.#lost.has(tpKey(topic, partition));
  }

  /** A (re)join assigned these partitions: lost ones among them may be taken in again. */
  assigned(partitions: readonly { topic: string; partition: number }[]): void {
    for (const p of partitions) this.#lost.delete(tpKey(p.topic, p.partition));
  }

  /** Whether the partition is tracked (assigned and not forgotten). */
  has(topic: string, partition: number): boolean {
    return this.#get(topic, partition) !== undefined;
  }

  /** Offsets taken in but without an acknowledged outcome, per partition. */
  pendingCount(topic: string, partition: number): number {
    const s = this.#get(topic, partition);
    return s ? s.pending.length - s.head : 0;
  }

  committedOffset(topic: string, partition: number): string | null {
    const s = this.#get(topic, partition);
    return s?.committed == null ? null : s.committed.toString();
  }

  partitions(): { topic: string; partition: number }[] {
    return [...this.#partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }
}
