/**
 * The chaos run's schedule: which fault comes when, on what, for how long — fixed by the seed alone. Faults come in
 * rounds, each a seeded shuffle of every kind, so even a short run meets each kind; the quiet time before a fault
 * and how long it is held are drawn from the same generator. The seed fixes the schedule, not the timing: a fault
 * starts at its planned time or, when the one before it ran late (a broker restart takes what it takes), right after.
 */
import { mulberry32 } from '../src/model/borehole.js';
import { GUARANTEES, type Guarantee } from '../test/fault/support/tally.js';

export const FAULT_KINDS = ['instance-kill', 'broker-pause', 'broker-kill', 'registry-hang', 'model-kill', 'model-hang', 'acl-deny'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  /** 1-based, in schedule order. */
  n: number;
  kind: FaultKind;
  /** Planned start, from the start of the run. */
  atMs: number;
  /** How long the fault is held before it is healed (0: a fault that heals itself, such as a killed model process). */
  holdMs: number;
  /** For faults on one instance: which group and which of its instances. */
  target?: { guarantee: Guarantee; slot: number };
}

/** [min, max] hold in ms per kind. */
const HOLD_MS: Record<FaultKind, readonly [number, number]> = {
  'instance-kill': [1_000, 4_000], // down before it is started again
  'broker-pause': [2_000, 8_000], // SIGSTOP .. SIGCONT
  'broker-kill': [1_000, 5_000], // SIGKILL .. restart on its data
  'registry-hang': [3_000, 10_000], // SIGSTOP .. SIGCONT
  'model-kill': [0, 0], // the instance replaces its model process by itself
  'model-hang': [3_000, 6_000], // SIGSTOP of the model process, longer than INFERENCE_TIMEOUT_MS
  'acl-deny': [3_000, 8_000], // WRITE on the output topic denied .. the denial removed
};
const QUIET_MS: readonly [number, number] = [4_000, 12_000];
/** Before the first fault: the instances join and settle. */
export const WARMUP_MS = 10_000;
/** After the last fault, nothing is injected: the stream must catch up by itself. */
export const COOLDOWN_MS = 10_000;

export function planFaults(seed: number, durationMs: number, instancesPerGroup: number): PlannedFault[] {
  const random = mulberry32(seed);
  const between = ([lo, hi]: readonly [number, number]) => Math.round(lo + random() * (hi - lo));
  const faults: PlannedFault[] = [];
  let at = WARMUP_MS;
  for (;;) {
    const round = [...FAULT_KINDS];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    for (const kind of round) {
      const holdMs = between(HOLD_MS[kind]);
      if (at + holdMs > durationMs - COOLDOWN_MS) return faults;
      const onInstance = kind === 'instance-kill' || kind === 'model-kill' || kind === 'model-hang';
      const target = onInstance ? { guarantee: GUARANTEES[Math.floor(random() * GUARANTEES.length)]!, slot: Math.floor(random() * instancesPerGroup) } : undefined;
      faults.push({ n: faults.length + 1, kind, atMs: at, holdMs, ...(target === undefined ? {} : { target }) });
      at += holdMs + between(QUIET_MS);
    }
  }
}

/** One line per fault, for the log and for a failed run's message. */
export function describeSchedule(faults: readonly PlannedFault[]): string {
  return faults
    .map((f) => `#${f.n} at ${(f.atMs / 1000).toFixed(1)} s: ${f.kind}${f.target === undefined ? '' : ` ${f.target.guarantee}[${f.target.slot}]`} held ${(f.holdMs / 1000).toFixed(1)} s`)
    .join('\n');
}
