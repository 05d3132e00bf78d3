/**
 * How much each section measures. `full` is what `npm run bench` runs (~20–25 minutes on two cores); `quick` is for
 * developing the benchmark itself (a few minutes, 2 repetitions) and its figures mean little.
 */
export interface Plan {
  mode: 'full' | 'quick';
  reps: number;
  partitions: number;
  /** Inputs pre-loaded for (g)'s drain; (a)–(d) read from the same topic. */
  backlog: number;
  /** Inputs pre-loaded for the pinning comparison and the profiled drain. */
  smallBacklog: number;
  a: { producerRecords: number; consumerRecords: number };
  b: number;
  c: number;
  d: number;
  e: { seconds: number };
  f: { sizes: number[]; minMs: number };
  open: { loads: number[]; warmupS: number; measureS: number };
  sweep: { sizes: number[]; delays: number[]; load: number; backlog: number; warmupS: number; measureS: number };
  /** Rounds (from the first) that also run the pinning comparison. */
  pinReps: number;
  /** Profile one extra drain of the small backlog with --cpu-prof (not timed). */
  profile: boolean;
}

export const PLANS: Record<Plan['mode'], Plan> = {
  full: {
    mode: 'full',
    reps: 5,
    partitions: 6,
    backlog: 1_000_000,
    smallBacklog: 200_000,
    a: { producerRecords: 500_000, consumerRecords: 500_000 },
    b: 500_000,
    c: 300_000,
    d: 300_000,
    e: { seconds: 8 },
    f: { sizes: [1, 8, 32, 128, 512, 2048], minMs: 400 },
    open: { loads: [0.25, 0.5, 0.8], warmupS: 3, measureS: 10 },
    sweep: { sizes: [32, 512, 2048, 4096], delays: [0, 5, 25], load: 0.5, backlog: 30_000, warmupS: 2, measureS: 3 },
    pinReps: 3,
    profile: true,
  },
  quick: {
    mode: 'quick',
    reps: 2,
    partitions: 6,
    backlog: 100_000,
    smallBacklog: 40_000,
    a: { producerRecords: 200_000, consumerRecords: 100_000 },
    b: 50_000,
    c: 40_000,
    d: 40_000,
    e: { seconds: 3 },
    f: { sizes: [1, 8, 32, 128, 512], minMs: 100 },
    open: { loads: [0.25, 0.5, 0.8], warmupS: 1, measureS: 3 },
    sweep: { sizes: [32, 2048], delays: [0, 5], load: 0.5, backlog: 15_000, warmupS: 1, measureS: 2 },
    pinReps: 1,
    profile: true,
  },
};
