/**
 * `npm run bench [-- --quick] [--reps N] [--only a,b,…] [--no-profile] [--summary]`: streamserve against its
 * ceilings, side by side in one run, on a broker of its own. See bench/README.md for what each section measures.
 *
 * Sections run in rounds — a, b, c, d, e, f, g, open, sweep, pin; then again — so every section's repetitions are
 * spread over the whole run and a noisy minute hurts one repetition of each rather than all of one. Figures are the
 * median of the repetitions with their min–max spread. Results go to bench/results/<mode>.json and .md (and the
 * README's Performance section after a full run).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { RegistryClient, frameHeader, loadAvroSchema } from '../src/index.js';
import { startBenchRegistry, type BenchRegistry } from './registry.js';
import { registryDrains, writeRegistryReport, type RegistryRun } from './registrySection.js';
import { startBenchBroker, type BenchBroker } from './broker.js';
import { benchKafka } from './clients.js';
import { preload } from './inputs.js';
import { killAllTools } from './kafkaPerf.js';
import { PLANS, type Plan } from './plan.js';
import { killAllChildren } from './proc.js';
import { summarizeProfiles } from './profile.js';
import { writeReport, type ProfileSummary, type RawResults, type RunMeta } from './report.js';
import * as s from './sections.js';
import { summarize } from './stats.js';
import { uniqueName } from './util.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECTIONS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'open', 'sweep', 'pin', 'reg'] as const;
/** (f): streamserve served each runtime's borehole model (same architecture, 8-64-64-1 tanh), as `run` hosts it. */
const RUNTIME_MODELS = [
  ['tfjs-wasm', 'weights/borehole'],
  ['onnx-cpu', 'weights/borehole-onnx/1.0.0'],
  ['numpy-tfjs-wasm', 'weights/borehole-npz/1.0.0'],
] as const;
type Section = (typeof SECTIONS)[number];

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      reps: { type: 'string' },
      only: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
      summary: { type: 'boolean' },
    },
    strict: true,
  });
  const base = PLANS[values.quick ? 'quick' : 'full'];
  const plan: Plan = { ...base, reps: values.reps ? Number(values.reps) : base.reps, profile: base.profile && !values['no-profile'] };
  const only = values.only ? new Set(values.only.split(',').map((x) => x.trim())) : null;
  for (const name of only ?? []) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`--only: unknown section ${name} (${SECTIONS.join(', ')})`);
  // results/summary.md (which the README's Performance section quotes) shows the latest full run only, unless asked
  const summary = values.summary ?? (plan.mode === 'full' && only === null);
  return { plan, only: only as Set<Section> | null, summary };
}

const t0 = Date.now();
const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s]`;
const say = (line: string) => process.stdout.write(`${stamp()} ${line}\n`);

let broker: BenchBroker | null = null;
let registry: BenchRegistry | null = null;
let cleaning: Promise<void> | null = null;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    killAllChildren();
    killAllTools();
    if (registry) await registry.stop().catch((err: unknown) => say(`stopping the registry failed: ${String(err)}`));
    if (broker) await broker.cleanup();
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping children and the broker`);
    void cleanup().finally(() => process.exit(130));
  });
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

/** This process and its ancestors (npm, tsx): not "other work". */
function ownProcesses(): Set<number> {
  const ours = new Set<number>();
  for (let pid = process.pid; pid > 1 && !ours.has(pid); ) {
    ours.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return ours;
}

/** The busiest processes that are not this benchmark's (nor its children's), to tell whether the machine was shared. */
function otherWork(ours: Set<number>): string[] {
  try {
    const lines = execFileSync('ps', ['-eo', 'pid,ppid,pcpu,etimes,args', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' }).split('\n');
    return lines
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 5 && Number(f[2]) >= 5 && !ours.has(Number(f[0])) && !ours.has(Number(f[1])))
      .slice(0, 8)
      .map((f) => `${f[2]}% cpu: ${f.slice(4).join(' ').slice(0, 110)}`);
  } catch {
    return [];
  }
}

function kafkaVersion(): string {
  try {
    const jar = readdirSync(join(HERE, '../scripts/kafka-local/lib')).find((f) => /^kafka-clients-[\d.]+\.jar$/.test(f));
    return jar?.replace(/^kafka-clients-|\.jar$/g, '') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const { plan, only, summary } = options();
  const want = (x: Section) => only === null || only.has(x);
  const logDir = join(RESULTS, 'logs', plan.mode);
  mkdirSync(logDir, { recursive: true });
  const loadBefore = uptime();
  const loadSamples: number[] = [loadavg()[0]!];
  const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]!), 15_000);
  loadTimer.unref();
  const othersBefore = otherWork(ownProcesses());
  say(`streamserve bench, ${plan.mode} plan, ${plan.reps} repetitions; ${uptime()}`);

  broker = await startBenchBroker((line) => say(`kafka-local: ${line}`));
  const kafka = benchKafka(broker.brokers, 'bench-orchestrator');
  const admin = kafka.admin();
  await admin.connect();
  const [inputType, outputType] = await Promise.all([loadAvroSchema('schemas/borehole-input.avsc'), loadAvroSchema('schemas/borehole-prediction.avsc')]);
  const backlogTopic = uniqueName('bench-backlog');
  const smallBacklogTopic = uniqueName('bench-small-backlog');
  await admin.createTopics({ waitForLeaders: true, topics: [backlogTopic, smallBacklogTopic].map((topic) => ({ topic, numPartitions: plan.partitions, replicationFactor: 1 })) });
  const loaded = await preload(kafka, inputType, backlogTopic, plan.backlog, 'in');
  say(`pre-loaded ${plan.backlog.toLocaleString('en')} inputs (mean Avro value ${loaded.meanBytes.toFixed(1)} bytes) in ${loaded.seconds.toFixed(1)} s`);
  await preload(kafka, inputType, smallBacklogTopic, plan.smallBacklog, 'small');

  const ctx: s.Context = {
    brokers: broker.brokers,
    kafka,
    admin,
    inputType,
    outputType,
    plan,
    backlogTopic,
    smallBacklogTopic,
    partitions: plan.partitions,
    meanInputBytes: loaded.meanBytes,
    logDir,
    allCpus: `0-${cpus().length - 1}`,
    brokerPid: () => broker?.pid() ?? null,
    log: say,
  };

  const raw: RawResults = { a: [], b: [], c: [], d: [], e: [], f: [], runtimes: [], g: [], open: [], sweep: [], pin: [], errors: [] };
  const backends = want('f') ? await s.modelBackends(ctx) : [];
  let calibrated: number | null = null;
  /** 100% load for the open-loop runs: the median drain rate of (g) so far in this run. */
  const referenceRate = async (): Promise<number> => {
    const median = summarize(raw.g.map((g) => g.rate))?.median;
    if (median !== undefined) return median;
    calibrated ??= (await s.drain(ctx, smallBacklogTopic, { name: 'calibrate' })).rate;
    return calibrated;
  };

  let regBacklog: Promise<string> | null = null;
  /** (reg): the registry (behind its counting proxy) and a Confluent-framed copy of the small backlog, made once. */
  const registryBacklog = (): Promise<string> =>
    (regBacklog ??= (async () => {
      registry ??= await startBenchRegistry((line) => say(`registry-local: ${line}`));
      const topic = uniqueName('bench-reg-backlog');
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: plan.partitions, replicationFactor: 1 }] });
      // (a loaded broker may not serve a topic's partitions for a while after it reports the leaders)
      for (let tries = 0; (await admin.fetchTopicOffsets(topic).then(() => false, () => true)) && tries < 100; tries++) await new Promise((r) => setTimeout(r, 200));
      const client = new RegistryClient({ urls: [registry.url], timeoutMs: 10_000 });
      const id = await client.register(`${topic}-value`, readFileSync('schemas/borehole-input.avsc', 'utf8')).finally(() => client.close());
      const header = frameHeader(id);
      await preload(kafka, inputType, topic, plan.smallBacklog, 'small', (body) => Buffer.concat([header, body]));
      return topic;
    })().catch((err: unknown) => {
      regBacklog = null; // the next round tries again
      throw err;
    }));

  const rotate = <T>(xs: readonly T[], by: number): T[] => xs.map((_, i) => xs[(i + by) % xs.length]!);
  const sweepConfigs = plan.sweep.sizes.flatMap((size) => plan.sweep.delays.map((delay) => ({ size, delay })));

  const run: Record<Section, (rep: number) => Promise<string>> = {
    a: async (rep) => {
      const r = await s.brokerCeiling(ctx);
      raw.a.push({ rep, ...r });
      return `producer ${fmt(r.producerRate)}/s, consumer ${fmt(r.consumerRate)}/s`;
    },
    b: async (rep) => {
      const r = await s.readOnly(ctx);
      raw.b.push({ rep, ...r });
      return `${fmt(r.rate)}/s`;
    },
    c: async (rep) => {
      const r = await s.forward(ctx, 'copy');
      raw.c.push({ rep, ...r });
      return `${fmt(r.rate)}/s`;
    },
    d: async (rep) => {
      const r = await s.forward(ctx, 'avro');
      raw.d.push({ rep, ...r });
      return `${fmt(r.rate)}/s`;
    },
    e: async (rep) => {
      const r = await s.naive(ctx);
      raw.e.push({ rep, ...r });
      return `${fmt(r.rate)}/s (model ${r.modelMsPerCall.toFixed(2)} ms/call)`;
    },
    f: async (rep) => {
      const parts: string[] = [];
      for (const backend of rotate(backends, rep)) {
        const r = await s.modelAlone(ctx, backend);
        raw.f.push({ rep, ...r });
        const best = Math.max(...r.points.map((p) => p.rowsPerSec));
        parts.push(`${backend} up to ${fmt(best)} rows/s`);
      }
      // streamserve with each runtime: drain of the sweep's backlog, then p99 at 50% of the default drain rate
      const ref = await referenceRate();
      await s.withServeChild(ctx, `f-runtimes-${rep}`, async (child) => {
        for (const [runtime, dir] of rotate(RUNTIME_MODELS, rep)) {
          const r = await s.openLoop(
            ctx,
            { name: `f-runtime-${runtime}`, loads: [plan.sweep.load], referenceRate: ref, warmupS: plan.sweep.warmupS, measureS: plan.sweep.measureS, preloadBacklog: plan.sweep.backlog, overrides: { model: dir } },
            child,
          );
          const point = r.points[0]!;
          raw.runtimes.push({ rep, runtime, drainRate: r.drainRate!, offered: point.offered, achieved: point.achieved, latency: point.latency });
          parts.push(`streamserve on ${runtime}: ${fmt(r.drainRate!)}/s p99 ${point.latency.p99} ms`);
        }
      });
      return parts.join(', ');
    },
    g: async (rep) => {
      const r = await s.drain(ctx, backlogTopic, { name: `g-drain-${rep}` });
      raw.g.push({ rep, ...r });
      return `${fmt(r.rate)}/s, peak RSS ${r.peakRssMB} MB (at rest ${r.atRest.rss} MB), mean batch ${r.meanBatch.toFixed(0)}`;
    },
    open: async (rep) => {
      const ref = await referenceRate();
      const r = await s.openLoop(ctx, { name: `g-open-${rep}`, loads: rotate(plan.open.loads, rep), referenceRate: ref, warmupS: plan.open.warmupS, measureS: plan.open.measureS });
      raw.open.push({ rep, referenceRate: ref, points: r.points });
      return r.points
        .sort((x, y) => x.load - y.load)
        .map((p) => `${p.load * 100}%: p50 ${p.latency.p50} / p99 ${p.latency.p99} / p99.9 ${p.latency.p999} ms`)
        .join('; ');
    },
    sweep: async (rep) => {
      const ref = await referenceRate();
      const parts: string[] = [];
      await s.withServeChild(ctx, `sweep-${rep}`, async (child) => {
        for (const c of rotate(sweepConfigs, rep)) {
          const r = await s.openLoop(
            ctx,
            {
              name: `sweep-${c.size}-${c.delay}`,
              loads: [plan.sweep.load],
              referenceRate: ref,
              warmupS: plan.sweep.warmupS,
              measureS: plan.sweep.measureS,
              preloadBacklog: plan.sweep.backlog,
              overrides: { 'max-batch-size': String(c.size), 'max-batch-delay-ms': String(c.delay) },
            },
            child,
          );
          const point = r.points[0]!;
          raw.sweep.push({ rep, size: c.size, delay: c.delay, drainRate: r.drainRate!, offered: point.offered, achieved: point.achieved, latency: point.latency });
          parts.push(`${c.size}/${c.delay}: ${fmt(r.drainRate!)}/s p99 ${point.latency.p99} ms`);
        }
      });
      return parts.join(', ');
    },
    pin: async (rep) => {
      if (rep >= plan.pinReps) return 'skipped';
      const r = await s.pinning(ctx);
      raw.pin.push({ rep, ...r });
      return `unpinned ${fmt(r.unpinned)}/s, pinned ${fmt(r.pinned)}/s`;
    },
    reg: async (rep) => {
      const topic = await registryBacklog();
      const r = await registryDrains(ctx, { rep, rawTopic: smallBacklogTopic, confluentTopic: topic, registry: registry! });
      regRuns.push(r);
      return `raw ${fmt(r.raw.rate)}/s, confluent in+out ${fmt(r.confluent.rate)}/s (${r.ratio.toFixed(2)} of raw); registry calls ${JSON.stringify(r.registryCalls)}`;
    },
  };
  const regRuns: RegistryRun[] = [];

  for (let rep = 0; rep < plan.reps; rep++) {
    for (const section of SECTIONS) {
      if (!want(section)) continue;
      const started = Date.now();
      try {
        const line = await run[section](rep);
        say(`round ${rep + 1}/${plan.reps} ${section}: ${line} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        raw.errors.push({ section, rep, message: message.slice(0, 2000) });
        say(`round ${rep + 1}/${plan.reps} ${section}: FAILED ${process.env.BENCH_DEBUG ? String((err as Error).stack) : message.split("\n")[0]}`);
        killAllChildren();
        killAllTools();
      }
    }
  }

  let profile: ProfileSummary | null = null;
  if (plan.profile && want('g')) {
    profile = { drain: null, openLoop: null };
    try {
      const dir = join(RESULTS, 'profiles', plan.mode, 'drain');
      rmSync(dir, { recursive: true, force: true });
      const r = await s.drain(ctx, smallBacklogTopic, { name: 'g-profile', cpuProfDir: dir });
      profile.drain = { records: r.records, rate: r.rate, ...summarizeProfiles(dir, r.profileWindowUs!) };
      say(`profiled a drain of ${fmt(r.records)} inputs (${fmt(r.rate)}/s under the profiler); profiles in ${dir}`);
    } catch (err) {
      raw.errors.push({ section: 'profile', rep: 0, message: String(err).slice(0, 2000) });
      say(`profile: FAILED ${String(err)}`);
    }
    try {
      const dir = join(RESULTS, 'profiles', plan.mode, 'open-loop');
      rmSync(dir, { recursive: true, force: true });
      const ref = await referenceRate();
      const r = await s.openLoop(ctx, { name: 'g-profile-open', loads: [0.5], referenceRate: ref, warmupS: plan.open.warmupS, measureS: plan.open.measureS, cpuProfDir: dir });
      const point = r.points[0]!;
      profile.openLoop = { load: 0.5, offered: point.offered, latency: point.latency, pipeline: point.pipeline, ...summarizeProfiles(dir, point.windowHrUs) };
      say(`profiled open loop at 50% (${fmt(point.offered)}/s): p99 ${point.latency.p99} ms under the profiler; profiles in ${dir}`);
    } catch (err) {
      raw.errors.push({ section: 'profile', rep: 0, message: String(err).slice(0, 2000) });
      say(`profile (open loop): FAILED ${String(err)}`);
    }
  }

  await admin.disconnect();
  const loadAfter = uptime();
  const meta: RunMeta = {
    mode: plan.mode,
    command: `npm run bench${plan.mode === 'quick' ? ' -- --quick' : ''}${only ? ` -- --only ${[...only].join(',')}` : ''}`,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: Math.round((Date.now() - t0) / 1000),
    plan,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGB: Math.round(totalmem() / 1e9),
      node: process.version,
      kafka: kafkaVersion(),
      loadBefore,
      loadAfter,
      load1mSamples: summarize(loadSamples),
      otherWorkBefore: othersBefore,
      otherWorkAfter: otherWork(new Set([...ownProcesses(), ...[broker?.pid()].filter((p): p is number => typeof p === 'number')])),
    },
    inputs: { backlog: plan.backlog, meanValueBytes: loaded.meanBytes, partitions: plan.partitions, preloadSeconds: loaded.seconds },
    backends,
  };
  const written = regRuns.length > 0 ? writeRegistryReport(RESULTS, meta, regRuns, raw.errors) : [];
  // A run of (reg) alone leaves the main report (and the figures the README quotes) as they are.
  if (!(only !== null && [...only].every((x) => x === 'reg'))) written.push(...writeReport({ dir: RESULTS, meta, raw, profile, summary }));
  say(`results: ${written.join(', ')}`);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

try {
  await main();
  await cleanup();
} catch (err) {
  say(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanup();
  process.exitCode = 1;
}
