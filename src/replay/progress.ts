import type { ReplayPlan } from './plan.js';

/**
 * Progress through a replay's plan, measured the only way that survives a crash: by the replay group's committed
 * positions. A partition is done when its committed position reaches its end; the replay is complete when every
 * partition is. Rate and ETA come from a sliding window of samples, so they follow the current speed, not the
 * average since a resume. Pure: the clock is injected, positions are handed in.
 */

export interface ReplayPartitionStatus {
  partition: number;
  start: string;
  end: string;
  /** The group's committed position (start when nothing was committed past it). */
  committed: string;
  total: number;
  done: number;
}

/** The `replay` object on /status. */
export interface ReplayStatus {
  id: string;
  createdAt: string;
  total: number;
  done: number;
  remaining: number;
  /** 0..100, one decimal. */
  percent: number;
  /** Records per second over the recent window; 0 until two samples are apart. */
  rate: number;
  /** Seconds to go at the current rate; null while the rate is unknown. */
  eta: number | null;
  complete: boolean;
  partitions: ReplayPartitionStatus[];
}

export interface ReplayProgressOptions {
  plan: ReplayPlan;
  /** The group's committed positions when the run began (resume); partitions absent start at their plan start. */
  committed?: ReadonlyMap<number, string>;
  now?: () => number;
  /** How far back the rate looks. */
  windowMs?: number;
}

interface PartitionState {
  partition: number;
  start: bigint;
  end: bigint;
  committed: bigint;
}

export class ReplayProgress {
  readonly #plan: ReplayPlan;
  readonly #partitions = new Map<number, PartitionState>();
  readonly #now: () => number;
  readonly #windowMs: number;
  #samples: { at: number; done: number }[] = [];

  constructor(options: ReplayProgressOptions) {
    this.#plan = options.plan;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? 10_000;
    for (const p of options.plan.partitions) {
      const start = BigInt(p.start);
      this.#partitions.set(p.partition, { partition: p.partition, start, end: BigInt(p.end), committed: start });
      const c = options.committed?.get(p.partition);
      if (c !== undefined) this.observe(p.partition, c);
    }
  }

  /** A committed position seen for a partition. Positions only move forward; partitions outside the plan are ignored. */
  observe(partition: number, committed: string | null): void {
    const s = this.#partitions.get(partition);
    if (!s || committed === null) return;
    const c = BigInt(committed);
    if (c > s.committed) s.committed = c;
  }

  /** Records a (time, done) sample for the rate. Call it on a steady tick. */
  sample(): void {
    const at = this.#now();
    this.#samples.push({ at, done: this.done });
    while (this.#samples.length > 2 && at - this.#samples[1]!.at >= this.#windowMs) this.#samples.shift();
  }

  get total(): number {
    let n = 0;
    for (const s of this.#partitions.values()) n += Number(s.end - s.start);
    return n;
  }

  get done(): number {
    let n = 0;
    for (const s of this.#partitions.values()) n += partitionDone(s);
    return n;
  }

  get complete(): boolean {
    for (const s of this.#partitions.values()) if (s.committed < s.end) return false;
    return true;
  }

  /** Records per second over the window (0 until two samples are at least 200 ms apart). */
  get rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at - first.at < 200) return 0;
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }

  snapshot(): ReplayStatus {
    const total = this.total;
    const done = this.done;
    const rate = this.rate;
    const remaining = total - done;
    return {
      id: this.#plan.id,
      createdAt: this.#plan.createdAt,
      total,
      done,
      remaining,
      percent: total === 0 ? 100 : Math.floor((done / total) * 1000) / 10,
      rate: Math.round(rate),
      eta: remaining === 0 ? 0 : rate > 0 ? Math.ceil(remaining / rate) : null,
      complete: this.complete,
      partitions: [...this.#partitions.values()].map((s) => ({
        partition: s.partition,
        start: s.start.toString(),
        end: s.end.toString(),
        committed: s.committed.toString(),
        total: Number(s.end - s.start),
        done: partitionDone(s),
      })),
    };
  }
}

function partitionDone(s: PartitionState): number {
  const c = s.committed < s.start ? s.start : s.committed > s.end ? s.end : s.committed;
  return Number(c - s.start);
}

/** `95 s` → `1m 35s`; null → `?`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** One plain progress line: `12000/20000 records (60.0%), 2400/s, ETA 4s`. */
export function progressLine(s: ReplayStatus): string {
  return `${s.done}/${s.total} records (${s.percent.toFixed(1)}%), ${s.rate}/s, ETA ${formatDuration(s.eta)}`;
}
