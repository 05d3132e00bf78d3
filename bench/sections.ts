/**
 * One repetition of each measured section. The orchestrator (main.ts) calls these round after round, so every
 * section's repetitions are spread over the whole run (interleaved) rather than taken back to back. Each call
 * returns plain numbers for results.json, creates the topics and groups it needs under fresh names, and removes its
 * topics and children afterwards, whatever happens.
 */
import { join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { type AvroType } from '../src/index.js';
import { BenchChild } from './proc.js';
import type { ClientResult } from './clients.js';
import type { ModelPoint, ModelVariant } from './modelBench.js';
import type { DrainResult, LoopStats, MemorySample, SendStats, ServeStarted } from './serve.js';
import { consumerPerformance, producerPerformance } from './kafkaPerf.js';
import { generate, latenciesIn, readOutputTimes, type GeneratorResult } from './openLoop.js';
import { preload } from './inputs.js';
import { latencySummary, percentile, type LatencySummary } from './stats.js';
import type { Plan } from './plan.js';
import { uniqueName } from './util.js';

export interface Context {
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  inputType: AvroType;
  outputType: AvroType;
  plan: Plan;
  /** The pre-loaded backlog (plan.backlog inputs) and a smaller one for the pinning comparison and the profile. */
  backlogTopic: string;
  smallBacklogTopic: string;
  partitions: number;
  meanInputBytes: number;
  logDir: string;
  /** CPU list of the whole machine, for un-pinning ("0-1" on two cores). */
  allCpus: string;
  brokerPid: () => number | null;
  log: (line: string) => void;
}

// ---- topics ----------------------------------------------------------------------------------------------------

/** Output topics (and open-loop input topics) stamp LogAppendTime: a record's timestamp is when the broker appended it. */
async function createTopics(ctx: Context, names: string[], logAppendTime = false): Promise<void> {
  await ctx.admin.createTopics({
    waitForLeaders: true,
    topics: names.map((topic) => ({
      topic,
      numPartitions: ctx.partitions,
      replicationFactor: 1,
      configEntries: logAppendTime ? [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] : [],
    })),
  });
}

async function withTopics<T>(ctx: Context, spec: { createTime?: string[]; logAppendTime?: string[] }, body: () => Promise<T>): Promise<T> {
  const all = [...(spec.createTime ?? []), ...(spec.logAppendTime ?? [])];
  try {
    if (spec.createTime?.length) await createTopics(ctx, spec.createTime);
    if (spec.logAppendTime?.length) await createTopics(ctx, spec.logAppendTime, true);
    return await body();
  } finally {
    await ctx.admin.deleteTopics({ topics: all, timeout: 30_000 }).catch((err: unknown) => ctx.log(`could not delete ${all.join(',')}: ${String(err)}`));
  }
}

export async function endOffsets(ctx: Context, topic: string): Promise<Record<string, string>> {
  const offsets = await ctx.admin.fetchTopicOffsets(topic);
  return Object.fromEntries(offsets.map((o) => [String(o.partition), o.high]));
}

// ---- children --------------------------------------------------------------------------------------------------

async function withChild<T>(
  ctx: Context,
  options: { name: string; role: 'clients' | 'model' | 'serve'; cpus?: string | undefined; cpuProfDir?: string | undefined; nodeFlags?: string[] | undefined },
  body: (child: BenchChild) => Promise<T>,
): Promise<T> {
  const child = new BenchChild({ ...options, logFile: join(ctx.logDir, `${options.name}.log`) });
  try {
    return await body(child);
  } finally {
    await child.close();
  }
}

// ---- (a) ---------------------------------------------------------------------------------------------------------

export interface BrokerCeiling {
  producerRate: number;
  producerMBps: number;
  producerP99Ms: number;
  consumerRate: number;
  consumerMBps: number;
}

export async function brokerCeiling(ctx: Context): Promise<BrokerCeiling> {
  const topic = uniqueName('bench-perf');
  const producer = await withTopics(ctx, { createTime: [topic] }, () =>
    producerPerformance({ brokers: ctx.brokers, topic, records: ctx.plan.a.producerRecords, recordSize: Math.round(ctx.meanInputBytes), timeoutMs: 180_000 }),
  );
  const consumer = await consumerPerformance({
    brokers: ctx.brokers,
    topic: ctx.backlogTopic,
    records: ctx.plan.a.consumerRecords,
    group: uniqueName('bench-perf'),
    timeoutMs: 180_000,
  });
  return { producerRate: producer.rate, producerMBps: producer.mbPerSec, producerP99Ms: producer.p99LatencyMs, consumerRate: consumer.rate, consumerMBps: consumer.mbPerSec };
}

// ---- (b)–(e) ---------------------------------------------------------------------------------------------------

export function readOnly(ctx: Context): Promise<ClientResult> {
  return withChild(ctx, { name: 'b-read', role: 'clients' }, (child) =>
    child.call<ClientResult>('readOnly', { brokers: ctx.brokers, topic: ctx.backlogTopic, groupId: uniqueName('bench-b'), count: ctx.plan.b, timeoutMs: 300_000 }, 330_000),
  );
}

/** (c) or (d); `options` profile it or give it node flags (e.g. streamserve's), for comparisons outside the rounds. */
export function forward(ctx: Context, transform: 'copy' | 'avro', options: { cpuProfDir?: string; nodeFlags?: string[] } = {}): Promise<ClientResult> {
  const out = uniqueName(`bench-${transform}`);
  const count = transform === 'copy' ? ctx.plan.c : ctx.plan.d;
  return withTopics(ctx, { logAppendTime: [out] }, () =>
    withChild(ctx, { name: `${transform === 'copy' ? 'c' : 'd'}-forward`, role: 'clients', ...options }, (child) =>
      child.call<ClientResult>(
        'forward',
        { brokers: ctx.brokers, topic: ctx.backlogTopic, outputTopic: out, groupId: uniqueName('bench-fwd'), count, transform, timeoutMs: 300_000 },
        330_000,
      ),
    ),
  );
}

export function naive(ctx: Context): Promise<ClientResult & { modelMsPerCall: number }> {
  const out = uniqueName('bench-naive');
  return withTopics(ctx, { logAppendTime: [out] }, () =>
    withChild(ctx, { name: 'e-naive', role: 'clients' }, (child) =>
      child.call<ClientResult & { modelMsPerCall: number }>(
        'naive',
        { brokers: ctx.brokers, topic: ctx.backlogTopic, outputTopic: out, groupId: uniqueName('bench-naive'), backend: 'wasm', seconds: ctx.plan.e.seconds, skipMs: 1000 },
        ctx.plan.e.seconds * 1000 + 120_000,
      ),
    ),
  );
}

// ---- (f) ---------------------------------------------------------------------------------------------------------

/** What (f) measures: the TensorFlow.js backends that run here, then the ONNX and NumPy runtimes (modelBench.ts). */
export async function modelBackends(ctx: Context): Promise<ModelVariant[]> {
  return withChild(ctx, { name: 'f-backends', role: 'model' }, (child) => child.call<ModelVariant[]>('modelBackends', null, 60_000));
}

export interface ModelRun {
  /** A TensorFlow.js backend, or another runtime (onnx-cpu, onnx-wasm, numpy-tfjs-wasm, numpy-js-loops). */
  backend: ModelVariant;
  loadMs: Record<string, number>;
  points: ModelPoint[];
}

export function modelAlone(ctx: Context, backend: ModelVariant): Promise<ModelRun> {
  return withChild(ctx, { name: `f-model-${backend}`, role: 'model' }, async (child) => {
    const sizes = ctx.plan.f.sizes;
    const loaded = await child.call<{ backend: string; loadMs: Record<string, number> }>('modelLoad', { backend, sizes }, 120_000);
    const { points } = await child.call<{ points: ModelPoint[] }>('modelMeasure', { sizes, minMs: ctx.plan.f.minMs }, 300_000);
    await child.call('modelClose', null, 30_000);
    return { backend: loaded.backend as ModelVariant, loadMs: loaded.loadMs, points };
  });
}

// ---- (g) ---------------------------------------------------------------------------------------------------------

/** Settings for one streamserve App: defaults except topics, group, admin port, logging and the overrides. */
function serveFlags(ctx: Context, topics: { input: string; output: string; dlq: string }, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    brokers: ctx.brokers.join(','),
    'input-topic': topics.input,
    'output-topic': topics.output,
    'dlq-topic': topics.dlq,
    group: uniqueName('bench-serve'),
    'admin-port': '0',
    'log-level': 'warn',
    'log-format': 'json',
    ...overrides,
  };
}

export interface DrainRun {
  records: number;
  rate: number;
  seconds: number;
  startMs: number;
  peakRssMB: number | null;
  atRest: MemorySample;
  maxHeapTotalMB: number;
  maxExternalMB: number;
  cpuSeconds: number | null;
  modelCalls: number;
  meanBatch: number;
  peakInflight: number;
  /** Output sends during the drain (absent in results from before they were recorded). */
  sends?: SendStats;
  /** Event-loop delay and GC pauses of the main thread during the drain (likewise). */
  loop?: LoopStats;
  profileWindowUs?: [number, number];
}

/** streamserve drains `topic` (already loaded) from the beginning, in a fresh child; the clock runs from join to the last commit. */
export function drain(
  ctx: Context,
  topic: string,
  options: { name: string; cpus?: string | undefined; cpuProfDir?: string | undefined; nodeFlags?: string[] | undefined; overrides?: Record<string, string> } = { name: 'g-drain' },
): Promise<DrainRun> {
  const out = uniqueName('bench-g-out');
  const dlq = `${out}-dlq`;
  return withTopics(ctx, { logAppendTime: [out, dlq] }, async () => {
    const ends = await endOffsets(ctx, topic);
    const records = Object.values(ends).reduce((a, b) => a + Number(b), 0);
    return withChild(ctx, { name: options.name, role: 'serve', cpus: options.cpus, cpuProfDir: options.cpuProfDir, nodeFlags: options.nodeFlags }, async (child) => {
      const flags = serveFlags(ctx, { input: topic, output: out, dlq }, options.overrides);
      const started = await child.call<ServeStarted>('serveStart', { flags, joinTimeoutMs: 60_000 }, 120_000);
      await child.call<SendStats>('serveSendStats', null, 10_000);
      await child.call<LoopStats>('serveLoopStats', null, 10_000);
      const timeoutMs = Math.max(60_000, (records / 2_000) * 1000);
      const done = await child.call<DrainResult>('serveWaitCommitted', { endOffsets: ends, timeoutMs }, timeoutMs + 10_000);
      const sends = await child.call<SendStats>('serveSendStats', null, 10_000);
      const loop = await child.call<LoopStats>('serveLoopStats', null, 10_000);
      const stopped = await child.call<{ code: number }>('serveStop', null, 60_000);
      if (stopped.code !== 0) ctx.log(`${options.name}: streamserve stopped with code ${stopped.code}`);
      const seconds = (done.doneAt - started.joinedAt) / 1000;
      return {
        records,
        rate: records / seconds,
        seconds,
        startMs: started.startMs,
        peakRssMB: done.peakRssMB,
        atRest: started.memory,
        maxHeapTotalMB: done.maxHeapTotalMB,
        maxExternalMB: done.maxExternalMB,
        cpuSeconds: done.cpuSeconds,
        modelCalls: done.counts.modelCalls,
        meanBatch: done.counts.rowsScored / Math.max(1, done.counts.modelCalls),
        peakInflight: done.counts.peakInflight,
        sends,
        loop,
        profileWindowUs: [started.joinedHrUs, done.doneHrUs],
      };
    });
  });
}

/** Pins the broker JVM (all its threads) to `cpus`; returns whether taskset succeeded. */
export async function pinBroker(ctx: Context, cpus: string): Promise<boolean> {
  const pid = ctx.brokerPid();
  if (pid === null) return false;
  const { spawnSync } = await import('node:child_process');
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}

export interface PinRun {
  unpinned: number;
  pinned: number;
}

/** The same drain unpinned, then with the broker on CPU 0 and streamserve on CPU 1. */
export async function pinning(ctx: Context): Promise<PinRun> {
  const unpinned = await drain(ctx, ctx.smallBacklogTopic, { name: 'pin-off' });
  if (!(await pinBroker(ctx, '0'))) throw new Error('cannot pin the broker with taskset');
  try {
    const pinned = await drain(ctx, ctx.smallBacklogTopic, { name: 'pin-on', cpus: '1' });
    return { unpinned: unpinned.rate, pinned: pinned.rate };
  } finally {
    await pinBroker(ctx, ctx.allCpus);
  }
}

export interface LoadPoint {
  load: number;
  offered: number;
  /** Outputs per second whose inputs were scheduled in the measured window. */
  achieved: number;
  latency: LatencySummary;
  /** p50 / p99 of each part of the latency (see openLoop.ts). */
  parts: { toInputLog: [number, number]; toScored: [number, number]; toOutputLog: [number, number] };
  generator: Pick<GeneratorResult, 'lateP99Ms' | 'lateMaxMs'>;
  /** What streamserve did during this load (warm-up and settling included): model calls and output sends. */
  pipeline: {
    modelCalls: number;
    meanBatch: number;
    sends: number;
    sendsPerSec: number;
    meanSendMessages: number;
    meanSendMs: number;
    maxConcurrentSends: number;
    /** CPU time of the streamserve process per input, µs (all its threads). */
    cpuUsPerRecord: number | null;
    /** The main thread's event-loop delay and GC pauses (absent in results from before they were recorded). */
    loop?: LoopStats;
  };
  /** The measured window on the serve child's monotonic clock, µs (for its --cpu-prof profile). */
  windowHrUs: [number, number];
}

/**
 * Open loop: one streamserve App (fresh child) on a fresh, empty input topic; for each load in turn, the generator
 * publishes at load × reference rate for warm-up + measured seconds and waits until streamserve has committed
 * everything; then the output topic is read back once and latencies are taken over each measured window.
 * With `preloadBacklog`, the topic first holds that many inputs, and the drain rate of that backlog is measured too.
 */
/**
 * How often the open-loop generator sends what came due, ms: the linger of Kafka's Java producer by default. With
 * 1 ms (until session 5) the generator made ~1,000 produce requests a second on the two cores it shares with the broker
 * and streamserve; the wait for the next send counts in each input's latency.
 */
export const GENERATOR_LINGER_MS = 5;

/** A serve child for several Apps in turn (one after another, never two at once). */
export function withServeChild<T>(ctx: Context, name: string, body: (child: BenchChild) => Promise<T>): Promise<T> {
  return withChild(ctx, { name, role: 'serve' }, body);
}

export async function openLoop(
  ctx: Context,
  p: {
    name: string;
    loads: number[];
    referenceRate: number;
    warmupS: number;
    measureS: number;
    overrides?: Record<string, string>;
    preloadBacklog?: number;
    cpuProfDir?: string;
    /** Node flags for a fresh child (default: the ones streamserve ships with). */
    nodeFlags?: string[] | undefined;
    /** The generator's send interval, ms (default GENERATOR_LINGER_MS). */
    generatorLingerMs?: number;
  },
  /** A serve child to run the App in (the sweep reuses one per round); a fresh one when absent. */
  reuse?: BenchChild,
): Promise<{ points: LoadPoint[]; drainRate?: number }> {
  const input = uniqueName('bench-ol-in');
  const out = uniqueName('bench-ol-out');
  const dlq = `${out}-dlq`;
  return withTopics(ctx, { logAppendTime: [input, out, dlq] }, async () => {
    if (p.preloadBacklog) await preload(ctx.kafka, ctx.inputType, input, p.preloadBacklog, 'backlog');
    const inChild = <T>(body: (child: BenchChild) => Promise<T>): Promise<T> =>
      reuse ? body(reuse) : withChild(ctx, { name: p.name, role: 'serve', cpuProfDir: p.cpuProfDir, nodeFlags: p.nodeFlags }, body);
    return inChild(async (child) => {
      const started = await child.call<ServeStarted>('serveStart', { flags: serveFlags(ctx, { input, output: out, dlq }, p.overrides), joinTimeoutMs: 60_000 }, 120_000);
      let drainRate: number | undefined;
      if (p.preloadBacklog) {
        const done = await child.call<DrainResult>('serveWaitCommitted', { endOffsets: await endOffsets(ctx, input), timeoutMs: 300_000 }, 310_000);
        drainRate = p.preloadBacklog / ((done.doneAt - started.joinedAt) / 1000);
      }
      type Counts = { modelCalls: number; rowsScored: number; cpuSeconds: number | null; epochMs: number; hrUs: number };
      const windows: { load: number; offered: number; from: number; to: number; gen: GeneratorResult; pipeline: LoadPoint['pipeline']; windowHrUs: [number, number] }[] = [];
      for (const load of p.loads) {
        const offered = Math.max(1, Math.round(load * p.referenceRate));
        const c0 = await child.call<Counts>('serveCounts', null, 10_000);
        await child.call<SendStats>('serveSendStats', null, 10_000);
        await child.call<LoopStats>('serveLoopStats', null, 10_000);
        const t0 = Date.now();
        const gen = await generate(ctx.kafka, ctx.inputType, {
          topic: input,
          rate: offered,
          seconds: p.warmupS + p.measureS,
          prefix: `L${load}`,
          lingerMs: p.generatorLingerMs ?? GENERATOR_LINGER_MS,
        });
        const settleMs = Math.max(60_000, (gen.sent / 1000) * 1000);
        await child.call<DrainResult>('serveWaitCommitted', { endOffsets: await endOffsets(ctx, input), timeoutMs: settleMs }, settleMs + 10_000);
        const c1 = await child.call<Counts>('serveCounts', null, 10_000);
        const sends = await child.call<SendStats>('serveSendStats', null, 10_000);
        const loop = await child.call<LoopStats>('serveLoopStats', null, 10_000);
        const calls = c1.modelCalls - c0.modelCalls;
        const cpu = c0.cpuSeconds === null || c1.cpuSeconds === null ? null : ((c1.cpuSeconds - c0.cpuSeconds) * 1e6) / gen.sent;
        const toHr = (epochMs: number) => c0.hrUs + (epochMs - c0.epochMs) * 1000;
        const pipeline = {
          modelCalls: calls,
          meanBatch: (c1.rowsScored - c0.rowsScored) / Math.max(1, calls),
          sends: sends.sends,
          sendsPerSec: sends.sends / ((Date.now() - t0) / 1000),
          meanSendMessages: sends.messages / Math.max(1, sends.sends),
          meanSendMs: sends.sendMs / Math.max(1, sends.sends),
          maxConcurrentSends: sends.maxConcurrent,
          cpuUsPerRecord: cpu,
          loop,
        };
        const from = gen.t0 + p.warmupS * 1000;
        const to = gen.t0 + (p.warmupS + p.measureS) * 1000;
        windows.push({ load, offered, from, to, gen, pipeline, windowHrUs: [toHr(from), toHr(to)] });
      }
      await child.call('serveStop', null, 60_000);
      const expected = windows.reduce((a, w) => a + w.gen.sent, 0) + (p.preloadBacklog ?? 0);
      const times = await readOutputTimes(ctx.kafka, ctx.outputType, input, out, expected);
      if (times.length < expected) ctx.log(`${p.name}: read ${times.length} of ${expected} outputs`);
      const points = windows.map((w) => {
        const lat = latenciesIn(times, w.from, w.to);
        const p50p99 = (xs: number[]): [number, number] => {
          const sorted = Float64Array.from(xs).sort();
          return [percentile(sorted, 0.5), percentile(sorted, 0.99)];
        };
        return {
          load: w.load,
          offered: w.offered,
          achieved: lat.e2e.length / ((w.to - w.from) / 1000),
          latency: latencySummary(lat.e2e),
          parts: { toInputLog: p50p99(lat.toInputLog), toScored: p50p99(lat.toScored), toOutputLog: p50p99(lat.toOutputLog) },
          generator: { lateP99Ms: w.gen.lateP99Ms, lateMaxMs: w.gen.lateMaxMs },
          pipeline: w.pipeline,
          windowHrUs: w.windowHrUs,
        };
      });
      return drainRate === undefined ? { points } : { points, drainRate };
    });
  });
}
