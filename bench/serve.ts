/**
 * (g) streamserve itself, in a child process: the `App` from src/app.ts — the composition root `streamserve run`
 * uses (run.ts adds only signal handling) — with its configuration loaded through the same schema and flags. It runs
 * in a process of its own so that its CPU, heap and peak RSS (VmHWM) are its own and it can be pinned; driving the
 * App over IPC lets the orchestrator start the clock when the group is joined (after model load and warm-up) and stop
 * it when the last input offset is committed, without polling HTTP from outside.
 */
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { App, createKafka, type KafkaClient, loadConfig, createLogger } from '../src/index.js';
import { memoryMB, cpuSeconds, sleep } from './util.js';

let app: App | null = null;

/**
 * Diagnostics only, not a change of behaviour: every producer of the Kafka client handed to the App (its output) is
 * wrapped so that its sendBatch calls are counted and timed. With them, the latency between scoring and the output
 * append can be split into waiting for earlier sends and the send itself.
 */
export interface SendStats {
  sends: number;
  messages: number;
  /** Sum of sendBatch durations (request and acknowledgement), ms. */
  sendMs: number;
  /** Most sendBatch calls in flight at once. */
  maxConcurrent: number;
}
const sendStats: SendStats = { sends: 0, messages: 0, sendMs: 0, maxConcurrent: 0 };
let concurrent = 0;

/** The Kafka client handed to the App: each producer it makes has its sendBatch counted and timed. */
function observedKafka(kafka: KafkaClient): KafkaClient {
  const makeProducer = kafka.producer.bind(kafka);
  kafka.producer = (...args: Parameters<KafkaClient['producer']>) => {
    const producer = makeProducer(...args);
    const sendBatch = producer.sendBatch;
    producer.sendBatch = async (batch) => {
      const t0 = performance.now();
      sendStats.sends++;
      for (const t of batch.topicMessages ?? []) sendStats.messages += t.messages.length;
      sendStats.maxConcurrent = Math.max(sendStats.maxConcurrent, ++concurrent);
      try {
        return await sendBatch(batch);
      } finally {
        concurrent--;
        sendStats.sendMs += performance.now() - t0;
      }
    };
    return producer;
  };
  return kafka;
}

/**
 * Diagnostics only: how long the main thread's event loop was held up, and V8's garbage-collection pauses on it.
 * A latency percentile over a 10 s window moves with a few long stalls; these say whether they were streamserve's.
 * The delay monitor costs a 1 ms timer on the main thread, in every (g) run alike.
 */
export interface LoopStats {
  /** Event-loop delay (how late a 1 ms timer fired), ms. */
  delayP99Ms: number;
  delayMaxMs: number;
  gcPauses: number;
  gcPauseMs: number;
  gcMaxPauseMs: number;
  /** Mark-compact (full) collections and the longest one, ms. */
  majorGcs: number;
  majorGcMaxMs: number;
}
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const gc = { pauses: 0, ms: 0, maxMs: 0, major: 0, majorMaxMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.pauses++;
    gc.ms += e.duration;
    gc.maxMs = Math.max(gc.maxMs, e.duration);
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.major++;
      gc.majorMaxMs = Math.max(gc.majorMaxMs, e.duration);
    }
  }
}).observe({ entryTypes: ['gc'] });

function loopStats(): LoopStats {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const stats = {
    delayP99Ms: ms(loopDelay.percentile(99)),
    delayMaxMs: ms(loopDelay.max),
    gcPauses: gc.pauses,
    gcPauseMs: r2(gc.ms),
    gcMaxPauseMs: r2(gc.maxMs),
    majorGcs: gc.major,
    majorGcMaxMs: r2(gc.majorMaxMs),
  };
  loopDelay.reset();
  Object.assign(gc, { pauses: 0, ms: 0, maxMs: 0, major: 0, majorMaxMs: 0 });
  return stats;
}

/** MB: resident (now and peak) and the main thread's V8 heap and off-heap buffers (the model worker's isolate is not in heap*). */
export interface MemorySample {
  rss: number | null;
  peakRss: number | null;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function memorySample(): MemorySample {
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round(n / 1e5) / 10;
  const { rss, peakRss } = memoryMB();
  return { rss, peakRss, heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
}
let fatal: Error | null = null;

export interface ServeStarted {
  startMs: number;
  /** Memory right after the join, before any input: what the loaded App costs at rest. */
  memory: MemorySample;
  /** Epoch ms when the group was joined (the drain clock starts here). */
  joinedAt: number;
  /** The same moment on the monotonic clock, µs (the time base of --cpu-prof profiles). */
  joinedHrUs: number;
}

async function serveStart(p: { flags: Record<string, string>; joinTimeoutMs: number }): Promise<ServeStarted> {
  if (app) throw new Error('an App is already running in this child');
  fatal = null;
  const config = loadConfig({ env: {}, flags: p.flags });
  const logger = createLogger({ level: config.logLevel, format: 'json' });
  const t0 = performance.now();
  const kafka = observedKafka(createKafka({ ...config, brokers: config.brokers! }, logger));
  const started = new App({ config, logger, kafka, onFatal: (err) => (fatal = err) });
  app = started;
  await started.start();
  const deadline = Date.now() + p.joinTimeoutMs;
  // 2 ms polling: the join is visible within a couple of milliseconds of kafkajs' GROUP_JOIN
  while (!started.readiness().checks.groupJoined) {
    if (fatal) throw fatal;
    if (Date.now() > deadline) throw new Error(`not joined after ${p.joinTimeoutMs} ms`);
    await sleep(2);
  }
  return { startMs: Math.round(performance.now() - t0), joinedAt: Date.now(), joinedHrUs: hrUs(), memory: memorySample() };
}

function committedSum(): number {
  let sum = 0;
  for (const a of app!.status().assignments) sum += Number(a.committedOffset ?? 0);
  return sum;
}

const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface DrainResult {
  doneAt: number;
  doneHrUs: number;
  firstOutcomeAt: number | null;
  committed: number;
  counts: ReturnType<App['status']>['counts'];
  peakRssMB: number | null;
  /** Largest main-thread heap and external memory seen while draining (sampled every 100 ms). */
  maxHeapTotalMB: number;
  maxExternalMB: number;
  cpuSeconds: number | null;
}

/** Waits until the committed offsets reach `endOffsets` (partition → end offset), polling every 10 ms. */
async function serveWaitCommitted(p: { endOffsets: Record<string, string>; timeoutMs: number }): Promise<DrainResult> {
  if (!app) throw new Error('no App running');
  const deadline = Date.now() + p.timeoutMs;
  let firstOutcomeAt: number | null = null;
  const cpu0 = cpuSeconds();
  let maxHeapTotalMB = 0;
  let maxExternalMB = 0;
  let sampledAt = 0;
  for (;;) {
    if (Date.now() - sampledAt >= 100) {
      sampledAt = Date.now();
      const m = memorySample();
      maxHeapTotalMB = Math.max(maxHeapTotalMB, m.heapTotal);
      maxExternalMB = Math.max(maxExternalMB, m.external);
    }
    if (fatal) throw fatal;
    const status = app.status();
    if (firstOutcomeAt === null && status.counts.predictions + status.counts.deadLetters > 0) firstOutcomeAt = Date.now();
    const done =
      status.assignments.length > 0 &&
      Object.entries(p.endOffsets).every(([partition, end]) => {
        const a = status.assignments.find((x) => x.partition === Number(partition));
        return a !== undefined && BigInt(a.committedOffset ?? '0') >= BigInt(end);
      });
    if (done) {
      const cpu1 = cpuSeconds();
      return {
        doneAt: Date.now(),
        doneHrUs: hrUs(),
        firstOutcomeAt,
        committed: committedSum(),
        counts: status.counts,
        peakRssMB: memoryMB().peakRss,
        maxHeapTotalMB,
        maxExternalMB,
        cpuSeconds: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0,
      };
    }
    if (Date.now() > deadline) throw new Error(`committed ${committedSum()} after ${p.timeoutMs} ms; not at the end offsets`);
    await sleep(10);
  }
}

/** Outcomes committed per second over a window of a running drain, after `skipMs` from now. */
async function serveRate(p: { skipMs: number; windowMs: number }): Promise<{ rate: number; committed: number; peakRssMB: number | null }> {
  if (!app) throw new Error('no App running');
  await sleep(p.skipMs);
  const c0 = committedSum();
  const t0 = performance.now();
  await sleep(p.windowMs);
  if (fatal) throw fatal;
  const c1 = committedSum();
  const seconds = (performance.now() - t0) / 1000;
  return { rate: (c1 - c0) / seconds, committed: c1, peakRssMB: memoryMB().peakRss };
}

async function serveStop(): Promise<{ code: number; peakRssMB: number | null }> {
  const running = app;
  app = null;
  const code = running ? await running.stop() : 0;
  return { code, peakRssMB: memoryMB().peakRss };
}

export const serveHandlers = {
  serveStart,
  serveWaitCommitted,
  serveRate,
  serveStop,
  serveMemory: () => Promise.resolve(memorySample()),
  /** Counters, CPU seconds of the process so far, and the clock pair (epoch ms, monotonic µs) to map times to profiles. */
  serveCounts: () => Promise.resolve(app ? { ...app.status().counts, cpuSeconds: cpuSeconds(), epochMs: Date.now(), hrUs: hrUs() } : null),
  /** Event-loop delay and GC pauses since the last call (and reset). */
  serveLoopStats: () => Promise.resolve(loopStats()),
  /** Send counters since the last call (and reset). */
  serveSendStats: () => {
    const snapshot = { ...sendStats };
    Object.assign(sendStats, { sends: 0, messages: 0, sendMs: 0, maxConcurrent: 0 });
    return Promise.resolve(snapshot);
  },
};
