/**
 * `npm run bench:http [-- --reps N] [--skip-backlog | --backlog-only]`: synchronous inference over HTTP, side by side in one run.
 *
 * 1. **Single-row requests**: `streamserve serve` and the design it replaces — a Flask app under Gunicorn (2 sync
 *    workers, one per core) doing one NumPy forward pass of the same weights per request (bench/flask/app.py, set up
 *    from PyPI in a virtual environment) — driven by the same generator from a separate process (bench/httpLoad.ts):
 *    requests/s at saturation (64 closed-loop callers), then p50/p99 open-loop at 50% of each one's saturation and
 *    at one offered load both sustain (50% of Flask's). Repetitions alternate between the two servers; figures are
 *    medians. The generator's own CPU is reported.
 * 2. **HTTP while Kafka drains**: `streamserve run` with HTTP_PORT on a broker of its own, draining a 1,000,000-input
 *    backlog with no requests, then another with 200 single-row requests/s open-loop against it: HTTP p99 during the
 *    drain, and both drain rates.
 *
 * Writes bench/results/http.json and http.md.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKafka, createLogger, loadAvroSchema, loadConfig, shippedNodeFlags } from '../src/index.js';
import { venvWith } from '../scripts/python.js';
import { startBenchBroker, type BenchBroker } from './broker.js';
import type { LoadResult, LoadSpec } from './httpLoad.js';
import { preload } from './inputs.js';
import { buildChildren } from './proc.js';
import { summarizeProfiles } from './profile.js';
import { uniqueName, waitFor } from './util.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const GENERATOR = join(ROOT, 'bench', '.build', 'bench', 'httpLoad.js');
const CEILING = join(ROOT, 'bench', '.build', 'bench', 'httpCeiling.js');
const CEILING_NAME = 'node:http, no model (ceiling)';
const BACKLOG = 1_000_000;
const say = (line: string) => process.stderr.write(`[bench:http] ${line}\n`);

interface Server {
  name: string;
  url: string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
/** --profile DIR: the streamserve processes write CPU profiles (main thread and model worker) there. */
let profileDir: string | null = null;
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function start(command: string, args: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let tail = '';
  child.stderr!.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000)));
  child.once('exit', (code) => {
    children.delete(child);
    if (code !== 0 && code !== null) say(`${log} exited ${code}: ${tail}`);
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  child.kill('SIGKILL');
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await res.text();
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts `streamserve <command>`; with --profile, it writes CPU profiles unless `profiled` is false. */
async function streamserve(command: 'serve' | 'run', env: NodeJS.ProcessEnv, profiled = true): Promise<Server & { adminPort: number }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const profile = profileDir === null || !profiled ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, command)}`];
  const child = start(process.execPath, [...shippedNodeFlags(), ...profile, join(ROOT, 'bin', 'streamserve.js'), command], { HTTP_PORT: String(port), ADMIN_PORT: String(adminPort), LOG_LEVEL: 'warn', LOG_FORMAT: 'json', HTTP_MAX_QUEUE: '100000', ...env }, `streamserve ${command}`);
  const url = `http://127.0.0.1:${port}/predict`;
  await waitFor(() => reachable(url), 60_000, `streamserve ${command} listening`, 200);
  return { name: 'streamserve', url, adminPort, stop: () => stopChild(child) };
}

async function flask(): Promise<Server> {
  const bin = await venvWith(join(ROOT, 'bench', 'flask', 'requirements.txt'), join(ROOT, '.cache', 'venv-bench-flask'));
  const port = await freePort();
  const child = start(join(bin, 'gunicorn'), ['--workers', '2', '--bind', `127.0.0.1:${port}`, '--chdir', join(ROOT, 'bench', 'flask'), '--log-level', 'warning', 'app:app'], { MODEL_DIR: join(ROOT, 'weights', 'borehole') }, 'gunicorn');
  const url = `http://127.0.0.1:${port}/predict`;
  await waitFor(() => reachable(url), 60_000, 'gunicorn listening', 200);
  return { name: 'flask+gunicorn', url, stop: () => stopChild(child) };
}

/** bench/httpCeiling.ts: what the generator and the machine allow any single-threaded Node.js server. */
async function ceiling(): Promise<Server> {
  const port = await freePort();
  const child = start(process.execPath, [CEILING, String(port)], {}, 'node:http ceiling');
  const url = `http://127.0.0.1:${port}/predict`;
  await waitFor(() => reachable(url), 30_000, 'the node:http ceiling listening', 100);
  return { name: CEILING_NAME, url, stop: () => stopChild(child) };
}

/** Runs the generator; when `until` settles first, its measured window ends there (SIGUSR2). */
function load(spec: LoadSpec, until?: Promise<unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GENERATOR, JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    const endWindow = () => void (child.exitCode === null && child.kill('SIGUSR2'));
    until?.then(endWindow, endWindow);
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`generator exited ${code}`));
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, 'skip-backlog': { type: 'boolean', default: false }, 'backlog-only': { type: 'boolean', default: false }, profile: { type: 'string' } } });
  profileDir = values.profile ?? null;
  const reps = values['backlog-only'] ? 0 : Number(values.reps);
  mkdirSync(RESULTS, { recursive: true });
  say(`building (dist/ for bin/streamserve.js, bench/.build for the generator); ${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)}`);
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  buildChildren();

  // 1. single-row requests, the two designs side by side, repetitions alternating
  const runs: Record<string, { saturation: LoadResult[]; half: LoadResult[]; same: LoadResult[] }> = {};
  const servers = [() => streamserve('serve', {}), flask, ceiling];
  const saturation = async (s: Server) => load({ mode: 'closed', url: s.url, connections: 64, warmupMs: 2000, measureMs: 8000 });
  for (let rep = 0; rep < reps; rep++) {
    for (const make of rep % 2 === 0 ? servers : [...servers].reverse()) {
      const server = await make();
      const r = (runs[server.name] ??= { saturation: [], half: [], same: [] });
      try {
        const sat = await saturation(server);
        r.saturation.push(sat);
        const half = await load({ mode: 'open', url: server.url, connections: 256, rate: Math.round(sat.rps / 2), warmupMs: 2000, measureMs: 8000 });
        r.half.push(half);
        say(`${server.name} rep ${rep + 1}: saturation ${fmt(sat.rps, 0)} req/s (generator ${fmt(sat.generatorCpuCores, 2)} cores); at 50% (${Math.round(sat.rps / 2)}/s) p50 ${fmt(half.p50Ms, 2)} ms, p99 ${fmt(half.p99Ms, 2)} ms`);
      } finally {
        await server.stop();
      }
    }
  }
  // the same offered load for both: 50% of Flask's median saturation
  const sameRate = reps === 0 ? 0 : Math.round(median(runs['flask+gunicorn']!.saturation.map((x) => x.rps)) / 2);
  for (let rep = 0; rep < reps; rep++) {
    for (const make of rep % 2 === 0 ? servers : [...servers].reverse()) {
      const server = await make();
      try {
        const same = await load({ mode: 'open', url: server.url, connections: 256, rate: sameRate, warmupMs: 2000, measureMs: 8000 });
        runs[server.name]!.same.push(same);
        say(`${server.name} rep ${rep + 1} at ${sameRate}/s: p50 ${fmt(same.p50Ms, 2)} ms, p99 ${fmt(same.p99Ms, 2)} ms`);
      } finally {
        await server.stop();
      }
    }
  }

  // 2. HTTP at 200 req/s while streamserve drains a 1,000,000-input backlog
  let drain: DrainResult | null = null;
  if (!values['skip-backlog']) drain = await httpDuringDrain();

  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, r]) => [
      name,
      {
        saturationRps: median(r.saturation.map((x) => x.rps)),
        generatorCpuCores: median(r.saturation.map((x) => x.generatorCpuCores)),
        halfLoad: { rate: Math.round(median(r.saturation.map((x) => x.rps)) / 2), p50Ms: median(r.half.map((x) => x.p50Ms)), p99Ms: median(r.half.map((x) => x.p99Ms)), generatorCpuCores: median(r.half.map((x) => x.generatorCpuCores)) },
        sameLoad: { rate: sameRate, p50Ms: median(r.same.map((x) => x.p50Ms)), p99Ms: median(r.same.map((x) => x.p99Ms)) },
        failures: [...r.saturation, ...r.half, ...r.same].reduce((n, x) => n + Object.values(x.failures).reduce((a, b) => a + b, 0), 0),
      },
    ]),
  );
  const ss = summary.streamserve;
  const fl = summary['flask+gunicorn'];
  const ce = summary[CEILING_NAME];
  const ratio = ss && fl ? ss.saturationRps / fl.saturationRps : NaN;
  let md = [
    `# HTTP inference (bench/http.ts), ${new Date().toISOString()}`,
    '',
    `${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${reps} repetitions alternating between the servers; medians.`,
    'Single-row `POST /predict`, keep-alive, from a separate generator process (bench/httpLoad.ts).',
    '',
    '| server | saturation (64 callers) | generator CPU | p50 / p99 at 50% of own saturation | p50 / p99 at ' + sameRate + ' req/s (50% of Flask) | failed requests |',
    '|---|---|---|---|---|---|',
    ...Object.entries(summary).map(
      ([name, x]) =>
        `| ${name} | ${fmt(x.saturationRps, 0)} req/s | ${fmt(x.generatorCpuCores, 2)} cores | ${fmt(x.halfLoad.p50Ms, 2)} / ${fmt(x.halfLoad.p99Ms, 2)} ms (${x.halfLoad.rate}/s) | ${fmt(x.sameLoad.p50Ms, 2)} / ${fmt(x.sameLoad.p99Ms, 2)} ms | ${x.failures} |`,
    ),
    '',
    ss && fl ? `streamserve / Flask saturation: **${fmt(ratio, 2)}×** (goal ≥ 5×); p99 at the same offered load: ${fmt(ss.sameLoad.p99Ms, 2)} vs ${fmt(fl.sameLoad.p99Ms, 2)} ms (goal: lower).` : 'Single-row requests: skipped (--backlog-only).',
    ss && fl && ce
      ? `The ceiling (node:http answering a constant, no framework, no model) / Flask: ${fmt(ce.saturationRps / fl.saturationRps, 2)}×; streamserve reaches ${fmt((100 * ss.saturationRps) / ce.saturationRps, 0)}% of it.`
      : '',
    '',
    drain?.http
      ? `HTTP at 200 req/s while \`run\` drains ${BACKLOG.toLocaleString('en')} Kafka inputs (${fmt(drain.rate, 0)} inputs/s, ${fmt(drain.seconds, 1)} s; ${fmt(drain.quietRate, 0)} inputs/s with no requests): p50 ${fmt(drain.http.p50Ms, 2)} ms, p99 **${fmt(drain.http.p99Ms, 2)} ms** (goal ≤ 50 ms), max ${fmt(drain.http.maxMs, 1)} ms, ${drain.http.answered} answered, failures ${JSON.stringify(drain.http.failures)}.`
      : 'HTTP during a Kafka drain: skipped (--skip-backlog).',
    drain ? `Inside streamserve meanwhile (its /metrics): event-loop delay p99 ${fmt(drain.diagnostics.eventLoopDelayP99Ms ?? NaN)} ms, max ${fmt(drain.diagnostics.eventLoopDelayMaxMs ?? NaN)} ms; an HTTP row's wait for its model call p50 ≤ ${fmt(drain.diagnostics.queueWaitP50MsAtMost ?? NaN)} ms, p99 ≤ ${fmt(drain.diagnostics.queueWaitP99MsAtMost ?? NaN)} ms; model calls waited behind, p99 ≤ ${String(drain.diagnostics.callsWaitedP99AtMost)}.` : '',
    '',
  ].join('\n');
  if (profileDir !== null) md += profileReport(profileDir);
  writeFileSync(join(RESULTS, 'http.json'), JSON.stringify({ at: new Date().toISOString(), reps, runs, summary, drain }, null, 2));
  writeFileSync(join(RESULTS, 'http.md'), md);
  process.stdout.write(md);
}

interface DrainResult {
  rate: number;
  seconds: number;
  /** The drain rate of the same `run` with no HTTP requests. */
  quietRate: number;
  http: LoadResult | null;
  diagnostics: Record<string, number | null>;
}

/** The event-loop delay and the HTTP rows' queue wait (histogram quantiles from the buckets) streamserve reports. */
function drainDiagnostics(metrics: string): Record<string, number | null> {
  const value = (name: string) => {
    const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? null : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const quantile = (name: string, q: number) => {
    const buckets = metrics
      .split('\n')
      .filter((l) => l.startsWith(`${name}_bucket{`))
      .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)![1]!.replace('+Inf', 'Infinity')), count: Number(l.slice(l.lastIndexOf(' ') + 1)) }));
    const total = buckets.at(-1)?.count ?? 0;
    return buckets.find((b) => b.count >= q * total)?.le ?? null;
  };
  return {
    eventLoopDelayP99Ms: (value('streamserve_nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    eventLoopDelayMaxMs: (value('streamserve_nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    queueWaitP50MsAtMost: (quantile('streamserve_http_queue_wait_seconds', 0.5) ?? NaN) * 1000,
    queueWaitP99MsAtMost: (quantile('streamserve_http_queue_wait_seconds', 0.99) ?? NaN) * 1000,
    callsWaitedP99AtMost: quantile('streamserve_http_calls_waited', 0.99),
  };
}

/** Where each streamserve process's threads spent their time (whole process life, start-up included). */
function profileReport(dir: string): string {
  const lines = ['', '## CPU profiles (--profile)', ''];
  for (const command of ['serve', 'run']) {
    let threads;
    try {
      threads = summarizeProfiles(join(dir, command), [0, Number.POSITIVE_INFINITY]).threads;
    } catch {
      continue;
    }
    for (const t of threads) {
      const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
      lines.push(`**${command}, ${t.thread}** (${fmt(t.windowMs / 1000)} s sampled, busy ${pct(t.busy)}): ${t.byComponent.slice(0, 8).map((c) => `${c.name} ${pct(c.share)}`).join(', ')}`, '');
      lines.push(...t.topFunctions.slice(0, 12).map((f) => `- ${pct(f.share)} ${f.fn} (${f.component})`), '');
    }
  }
  return lines.join('\n');
}

/**
 * `run` with HTTP_PORT on a broker of its own draining the backlog twice: with no requests (what serving HTTP costs a
 * drain when no one calls), then with 200 single-row requests/s (HTTP p99 meanwhile, and the drain rate).
 */
async function httpDuringDrain(): Promise<DrainResult> {
  let broker: BenchBroker | null = null;
  try {
    broker = await startBenchBroker((line) => say(`kafka-local: ${line}`));
    const logger = createLogger({ level: 'warn', format: 'json' });
    const kafka = createKafka({ ...loadConfig({ env: {} }), brokers: broker.brokers, clientId: 'bench-http' }, logger);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const quiet = await drainOnce(kafka, admin, broker, false);
      say(`drained with HTTP_PORT set and no requests: ${fmt(quiet.rate, 0)} inputs/s`);
      const busy = await drainOnce(kafka, admin, broker, true);
      return { ...busy, quietRate: quiet.rate };
    } finally {
      await admin.disconnect();
    }
  } finally {
    await broker?.cleanup();
  }
}

type Kafka = ReturnType<typeof createKafka>;

/** Pre-loads a fresh topic, starts `run` on it and waits until the group has committed all of it. */
async function drainOnce(kafka: Kafka, admin: ReturnType<Kafka['admin']>, broker: BenchBroker, withHttp: boolean): Promise<Omit<DrainResult, 'quietRate'>> {
  const topic = uniqueName('bench-http-backlog');
  const [output, dlq] = [`${topic}-out`, `${topic}-dlq`];
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6 }, { topic: output, numPartitions: 6 }, { topic: dlq, numPartitions: 1 }] });
  const loaded = await preload(kafka, await loadAvroSchema('schemas/borehole-input.avsc'), topic, BACKLOG, 'http');
  say(`pre-loaded ${BACKLOG.toLocaleString('en')} inputs in ${fmt(loaded.seconds)} s`);
  // Only the drain with requests is profiled (--profile): one `run` per report.
  const server = await streamserve('run', { KAFKA_BROKERS: broker.brokers.join(','), INPUT_TOPIC: topic, OUTPUT_TOPIC: output, DLQ_TOPIC: dlq, GROUP_ID: `${topic}-group` }, withHttp);
  try {
    const started = performance.now();
    // Until the group has committed the whole backlog; the generator runs meanwhile and stops measuring then.
    const drained = waitFor(
      async () => {
        // While the group's coordinator loads (GROUP_LOAD_IN_PROGRESS and the like), not yet.
        const [offsets] = await admin.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] }).catch((err: { retriable?: boolean }) => {
          if (err.retriable === true) return [];
          throw err;
        });
        return (offsets?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) >= BACKLOG;
      },
      600_000,
      'the backlog drained',
      250,
    ).then(() => (performance.now() - started) / 1000);
    if (!withHttp) {
      const seconds = await drained;
      return { rate: BACKLOG / seconds, seconds, http: null, diagnostics: {} };
    }
    // Measured from 3 s into the drain until it ends (60 s at most): only requests that met a backlog count.
    const http = await load({ mode: 'open', url: server.url, connections: 64, rate: 200, warmupMs: 3000, measureMs: 60_000 }, drained);
    // Where an HTTP request's time went, from streamserve's own metrics: the event loop (busy with the drain), the
    // wait for its model call, the model calls it waited behind.
    const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
    const seconds = await drained;
    if (http.answered < 1000) say(`note: only ${http.answered} requests answered during the drain (${fmt(seconds)} s): its p99 says little`);
    return { rate: BACKLOG / seconds, seconds, http, diagnostics: drainDiagnostics(metrics) };
  } finally {
    await server.stop();
  }
}

await main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
