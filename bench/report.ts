/**
 * Turns the raw repetitions into results: medians with min–max spread, the targets (value, bound, met), a markdown
 * report, two SVG plots, and — after a full run — the README's Performance section.
 */
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ClientResult } from './clients.js';
import type { Plan } from './plan.js';
import { plotSvg, type PlotPoint } from './plot.js';
import type { ThreadProfile } from './profile.js';
import type { BrokerCeiling, DrainRun, LoadPoint, ModelRun, PinRun } from './sections.js';
import { summarize, type LatencySummary, type Summary } from './stats.js';
import { shippedNodeFlags } from '../src/index.js';

type Rep<T> = { rep: number } & T;

export interface RawResults {
  a: Rep<BrokerCeiling>[];
  b: Rep<ClientResult>[];
  c: Rep<ClientResult>[];
  d: Rep<ClientResult>[];
  e: Rep<ClientResult & { modelMsPerCall: number }>[];
  f: Rep<ModelRun>[];
  g: Rep<DrainRun>[];
  open: Rep<{ referenceRate: number; points: LoadPoint[] }>[];
  sweep: Rep<{ size: number; delay: number; drainRate: number; offered: number; achieved: number; latency: LatencySummary }>[];
  /** (f): streamserve with each model runtime, drain and open-loop at the sweep's load. */
  runtimes: Rep<{ runtime: string; drainRate: number; offered: number; achieved: number; latency: LatencySummary }>[];
  pin: Rep<PinRun>[];
  errors: { section: string; rep: number; message: string }[];
}

export interface RunMeta {
  mode: Plan['mode'];
  command: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  plan: Plan;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGB: number;
    node: string;
    kafka: string;
    loadBefore: string;
    loadAfter: string;
    load1mSamples: Summary | null;
    otherWorkBefore: string[];
    otherWorkAfter: string[];
  };
  inputs: { backlog: number; meanValueBytes: number; partitions: number; preloadSeconds: number };
  backends: string[];
}

type ThreadsProfile = { threads: ThreadProfile[] };
export interface ProfileSummary {
  drain: ({ records: number; rate: number } & ThreadsProfile) | null;
  openLoop: ({ load: number; offered: number; latency: LatencySummary; pipeline: LoadPoint['pipeline'] } & ThreadsProfile) | null;
}

/** Results written before the open-loop profile existed hold one drain profile. */
export function normalizeProfile(p: unknown): ProfileSummary | null {
  if (p === null || typeof p !== 'object') return null;
  if ('threads' in p) return { drain: p as ProfileSummary['drain'], openLoop: null };
  return p as ProfileSummary;
}

export interface Target {
  what: string;
  measured: number | null;
  bound: string;
  met: boolean;
}

const S = (values: number[]) => summarize(values);
const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Row {
  id: string;
  what: string;
  unit: string;
  s: Summary | null;
  digits?: number;
}

function summaries(raw: RawResults) {
  const rate = (xs: { rate: number }[]) => S(xs.map((x) => x.rate));
  const loads = [...new Set(raw.open.flatMap((o) => o.points.map((p) => p.load)))].sort((a, b) => a - b);
  const open = loads.map((load) => {
    const pts = raw.open.flatMap((o) => o.points.filter((p) => p.load === load));
    return {
      load,
      offered: S(pts.map((p) => p.offered)),
      achieved: S(pts.map((p) => p.achieved)),
      p50: S(pts.map((p) => p.latency.p50)),
      p99: S(pts.map((p) => p.latency.p99)),
      p999: S(pts.map((p) => p.latency.p999)),
      max: S(pts.map((p) => p.latency.max)),
      generatorLateP99: S(pts.map((p) => p.generator.lateP99Ms)),
      meanBatch: S(pts.map((p) => p.pipeline.meanBatch)),
      sendsPerSec: S(pts.map((p) => p.pipeline.sendsPerSec)),
      meanSendMessages: S(pts.map((p) => p.pipeline.meanSendMessages)),
      meanSendMs: S(pts.map((p) => p.pipeline.meanSendMs)),
      /** Share of the time a send was in flight (sends are one at a time): near 1, sends queue behind each other. */
      sendBusy: S(pts.map((p) => (p.pipeline.sendsPerSec * p.pipeline.meanSendMs) / 1000)),
      cpuUsPerRecord: S(pts.map((p) => p.pipeline.cpuUsPerRecord ?? Number.NaN)),
      loopDelayP99: S(pts.map((p) => p.pipeline.loop?.delayP99Ms ?? Number.NaN)),
      loopDelayMax: S(pts.map((p) => p.pipeline.loop?.delayMaxMs ?? Number.NaN)),
      gcMaxPause: S(pts.map((p) => p.pipeline.loop?.gcMaxPauseMs ?? Number.NaN)),
      majorGcMax: S(pts.map((p) => p.pipeline.loop?.majorGcMaxMs ?? Number.NaN)),
      parts: Object.fromEntries(
        (['toInputLog', 'toScored', 'toOutputLog'] as const).map((k) => [k, { p50: S(pts.map((p) => p.parts[k][0])), p99: S(pts.map((p) => p.parts[k][1])) }]),
      ) as Record<'toInputLog' | 'toScored' | 'toOutputLog', { p50: Summary | null; p99: Summary | null }>,
    };
  });
  const configs = [...new Map(raw.sweep.map((x) => [`${x.size}/${x.delay}`, { size: x.size, delay: x.delay }])).values()];
  const sweep = configs.map((c) => {
    const xs = raw.sweep.filter((x) => x.size === c.size && x.delay === c.delay);
    return { ...c, drainRate: S(xs.map((x) => x.drainRate)), p50: S(xs.map((x) => x.latency.p50)), p99: S(xs.map((x) => x.latency.p99)), achieved: S(xs.map((x) => x.achieved)), offered: S(xs.map((x) => x.offered)) };
  });
  const runtimes = [...new Set(raw.runtimes.map((x) => x.runtime))].map((runtime) => {
    const xs = raw.runtimes.filter((x) => x.runtime === runtime);
    return { runtime, drainRate: S(xs.map((x) => x.drainRate)), p50: S(xs.map((x) => x.latency.p50)), p99: S(xs.map((x) => x.latency.p99)), achieved: S(xs.map((x) => x.achieved)), offered: S(xs.map((x) => x.offered)) };
  });
  const modelKeys = [...new Map(raw.f.flatMap((r) => r.points.map((p) => [`${r.backend}/${p.mode}/${p.batch}`, { backend: r.backend, mode: p.mode, batch: p.batch }]))).values()];
  const model = modelKeys.map((k) => {
    const pts = raw.f.filter((r) => r.backend === k.backend).flatMap((r) => r.points.filter((p) => p.mode === k.mode && p.batch === k.batch));
    return { ...k, rowsPerSec: S(pts.map((p) => p.rowsPerSec)), callMs: S(pts.map((p) => p.callMs)) };
  });
  return {
    a: { producer: S(raw.a.map((x) => x.producerRate)), consumer: S(raw.a.map((x) => x.consumerRate)), producerMBps: S(raw.a.map((x) => x.producerMBps)), consumerMBps: S(raw.a.map((x) => x.consumerMBps)) },
    b: rate(raw.b),
    c: rate(raw.c),
    d: rate(raw.d),
    e: rate(raw.e),
    eModelMs: S(raw.e.map((x) => x.modelMsPerCall)),
    g: {
      rate: rate(raw.g),
      peakRssMB: S(raw.g.map((x) => x.peakRssMB ?? Number.NaN)),
      atRestRssMB: S(raw.g.map((x) => x.atRest.rss ?? Number.NaN)),
      atRestHeapMB: S(raw.g.map((x) => x.atRest.heapTotal)),
      maxHeapTotalMB: S(raw.g.map((x) => x.maxHeapTotalMB)),
      cpuSecondsPerMillion: S(raw.g.map((x) => ((x.cpuSeconds ?? Number.NaN) / x.records) * 1e6)),
      meanBatch: S(raw.g.map((x) => x.meanBatch)),
      peakInflight: S(raw.g.map((x) => x.peakInflight)),
      startMs: S(raw.g.map((x) => x.startMs)),
    },
    open,
    sweep,
    runtimes,
    model,
    pin: { unpinned: S(raw.pin.map((x) => x.unpinned)), pinned: S(raw.pin.map((x) => x.pinned)) },
  };
}

function targets(sum: ReturnType<typeof summaries>, raw: RawResults): Record<string, Target> {
  const ratio = (a: Summary | null, b: Summary | null) => (a && b ? Math.round((a.median / b.median) * 100) / 100 : null);
  const gd = ratio(sum.g.rate, sum.d);
  const ge = ratio(sum.g.rate, sum.e);
  const p99 = sum.open.find((o) => o.load === 0.5)?.p99?.median ?? null;
  const rss = raw.g.length ? Math.max(...raw.g.map((g) => g.peakRssMB ?? Number.NaN)) : null;
  return {
    g_vs_d: { what: '(g) drain rate ÷ (d) read→decode→encode→produce rate', measured: gd, bound: '≥ 0.7', met: gd !== null && gd >= 0.7 },
    g_vs_e: { what: '(g) drain rate ÷ (e) naive rate', measured: ge, bound: '≥ 10', met: ge !== null && ge >= 10 },
    p99_at_50pct_ms: { what: 'p99 end-to-end latency at 50% of the drain rate, default batching (median of repetitions), ms', measured: p99, bound: '≤ 50', met: p99 !== null && p99 <= 50 },
    peak_rss_mb: { what: 'peak RSS (VmHWM) of streamserve during the backlog drain, largest of the repetitions, MB', measured: rss !== null && Number.isFinite(rss) ? rss : null, bound: '≤ 300', met: rss !== null && rss <= 300 },
  };
}

function cell(s: Summary | null, digits = 0): [string, string, string] {
  if (!s) return ['—', '—', '—'];
  return [fmt(s.median, digits), `${fmt(s.min, digits)} – ${fmt(s.max, digits)}`, `${Math.round(s.spread * 100)}%`];
}

function mainRows(sum: ReturnType<typeof summaries>, meta: RunMeta): Row[] {
  const size = Math.round(meta.inputs.meanValueBytes);
  const rows: Row[] = [
    { id: '(a)', what: `broker ceiling, produce: ProducerPerformance, ${size} B records, acks=all, idempotent`, unit: 'records/s', s: sum.a.producer },
    { id: '(a)', what: 'broker ceiling, consume: ConsumerPerformance on the Avro input topic (fetch rate, join excluded)', unit: 'records/s', s: sum.a.consumer },
    { id: '(b)', what: 'kafkajs consumer, read only', unit: 'records/s', s: sum.b },
    { id: '(c)', what: 'kafkajs read → produce unchanged (commit after ack)', unit: 'records/s', s: sum.c },
    { id: '(d)', what: 'kafkajs read → Avro decode → Avro encode → produce, no model', unit: 'records/s', s: sum.d },
    { id: '(e)', what: 'naive: one record at a time, one model call + one awaited send each', unit: 'records/s', s: sum.e },
    { id: '(g)', what: `streamserve draining ${meta.inputs.backlog.toLocaleString('en')} inputs (default settings)`, unit: 'records/s', s: sum.g.rate },
    { id: '(g)', what: 'streamserve peak RSS (VmHWM) during the drain', unit: 'MB', s: sum.g.peakRssMB },
    { id: '(g)', what: 'streamserve RSS at rest (model loaded, group joined, no input)', unit: 'MB', s: sum.g.atRestRssMB },
  ];
  for (const o of sum.open) {
    const pct = `${Math.round(o.load * 100)}%`;
    rows.push({ id: '(g)', what: `open loop at ${pct} of drain rate (${fmt(o.offered?.median)}/s): p50`, unit: 'ms', s: o.p50 });
    rows.push({ id: '(g)', what: `open loop at ${pct}: p99`, unit: 'ms', s: o.p99 });
    rows.push({ id: '(g)', what: `open loop at ${pct}: p99.9`, unit: 'ms', s: o.p999 });
  }
  return rows;
}

function table(rows: Row[]): string {
  const lines = ['| | measurement | median | min – max | spread | n |', '|---|---|---:|---:|---:|---:|'];
  for (const r of rows) {
    const [m, range, spread] = cell(r.s, r.digits);
    lines.push(`| ${r.id} | ${r.what} | ${m} ${r.unit} | ${range} | ${spread} | ${r.s?.n ?? 0} |`);
  }
  return lines.join('\n');
}

function targetTable(t: Record<string, Target>): string {
  const lines = ['| target | measured | bound | met |', '|---|---:|---:|:---:|'];
  for (const x of Object.values(t)) lines.push(`| ${x.what} | ${fmt(x.measured, 2)} | ${x.bound} | ${x.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

function modelTable(sum: ReturnType<typeof summaries>): string {
  const batches = [...new Set(sum.model.map((m) => m.batch))].sort((a, b) => a - b);
  const keys = [...new Set(sum.model.map((m) => `${m.backend} ${m.mode}`))];
  const lines = [`| runtime, call | ${batches.map((b) => `batch ${b}`).join(' | ')} |`, `|---|${batches.map(() => '---:').join('|')}|`];
  for (const k of keys) {
    const cells = batches.map((b) => {
      const m = sum.model.find((x) => `${x.backend} ${x.mode}` === k && x.batch === b);
      return m?.rowsPerSec ? `${fmt(m.rowsPerSec.median)} rows/s (${fmt(m.callMs?.median, 2)} ms; ±${Math.round(m.rowsPerSec.spread * 50)}%)` : '—';
    });
    lines.push(`| ${k} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

function partsTable(sum: ReturnType<typeof summaries>): string {
  const lines = [
    '| load | offered (records/s) | achieved | scheduled → input appended (generator) | input appended → scored (fetch, queue, model) | scored → output appended (send queue, send, ack) | end to end | mean model batch | sends/s × ms per send = send busy | CPU µs per input | event-loop delay p99 / max (ms) | longest GC pause, any / full (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const pair = (x: { p50: Summary | null; p99: Summary | null }) => `${fmt(x.p50?.median)} / ${fmt(x.p99?.median)}`;
  for (const o of sum.open) {
    lines.push(
      `| ${Math.round(o.load * 100)}% | ${fmt(o.offered?.median)} | ${fmt(o.achieved?.median)} | ${pair(o.parts.toInputLog)} | ${pair(o.parts.toScored)} | ${pair(o.parts.toOutputLog)} | ${fmt(o.p50?.median)} / ${fmt(o.p99?.median)} | ${fmt(o.meanBatch?.median, 1)} | ${fmt(o.sendsPerSec?.median)} × ${fmt(o.meanSendMs?.median, 2)} = ${fmt(o.sendBusy?.median, 2)} | ${fmt(o.cpuUsPerRecord?.median, 1)} | ${fmt(o.loopDelayP99?.median, 1)} / ${fmt(o.loopDelayMax?.median, 1)} | ${fmt(o.gcMaxPause?.median, 1)} / ${fmt(o.majorGcMax?.median, 1)} |`,
    );
  }
  return lines.join('\n');
}

function runtimesTable(sum: ReturnType<typeof summaries>): string {
  const lines = ['| runtime | drain rate (records/s) | p50 at fixed load (ms) | p99 at fixed load (ms) | achieved / offered |', '|---|---:|---:|---:|---:|'];
  for (const r of sum.runtimes) {
    lines.push(`| ${r.runtime} | ${fmt(r.drainRate?.median)} (${fmt(r.drainRate?.min)} – ${fmt(r.drainRate?.max)}) | ${fmt(r.p50?.median)} | ${fmt(r.p99?.median)} (${fmt(r.p99?.min)} – ${fmt(r.p99?.max)}) | ${fmt(r.achieved?.median)} / ${fmt(r.offered?.median)} |`);
  }
  return lines.join('\n');
}

function sweepTable(sum: ReturnType<typeof summaries>): string {
  const lines = ['| MAX_BATCH_SIZE | MAX_BATCH_DELAY_MS | drain rate (records/s) | p50 at fixed load (ms) | p99 at fixed load (ms) | achieved / offered |', '|---:|---:|---:|---:|---:|---:|'];
  for (const c of [...sum.sweep].sort((a, b) => a.size - b.size || a.delay - b.delay)) {
    lines.push(
      `| ${c.size} | ${c.delay} | ${fmt(c.drainRate?.median)} (${fmt(c.drainRate?.min)} – ${fmt(c.drainRate?.max)}) | ${fmt(c.p50?.median)} | ${fmt(c.p99?.median)} (${fmt(c.p99?.min)} – ${fmt(c.p99?.max)}) | ${fmt(c.achieved?.median)} / ${fmt(c.offered?.median)} |`,
    );
  }
  return lines.join('\n');
}

function threadsText(threads: ThreadProfile[]): string[] {
  const out: string[] = [];
  const list = (xs: { name: string; share: number }[]) => xs.filter((c) => c.share >= 0.01).map((c) => `${c.name} ${Math.round(c.share * 100)}%`).join(', ');
  const idle = threads.filter((t) => t.busy < 0.05);
  for (const t of threads.filter((x) => x.busy >= 0.05)) {
    const name = t.thread === 'main' ? 'Main thread' : t.byComponent.some((c) => c.name.startsWith('tfjs')) ? `Model worker (${t.thread})` : t.thread;
    out.push(`**${name}: ${Math.round(t.busy * 100)}% busy** over ${fmt(t.windowMs / 1000, 1)} s.`, '');
    out.push(`- by path (whole stack): ${list(t.byPath)}`);
    out.push(`- by component, Node built-ins charged to their caller: ${list(t.byCaller)}`);
    out.push(`- by component, self time: ${list(t.byComponent)}`, '');
    out.push('| self time | function | component |', '|---:|---|---|');
    for (const f of t.topFunctions.slice(0, 10)) out.push(`| ${(f.share * 100).toFixed(1)}% | \`${f.fn.replace(/\|/g, '\\|')}\` | ${f.component} |`);
    out.push('');
  }
  if (idle.length) out.push(`Other threads (${idle.map((t) => t.thread).join(', ')}) were idle.`, '');
  return out;
}

function profileText(profile: ProfileSummary | null): string {
  if (!profile || (!profile.drain && !profile.openLoop)) return '_not profiled_';
  const out: string[] = ['Profiles: `bench/results/profiles/` (not committed; open them in Chrome DevTools or speedscope). Only samples inside the measured window count.', ''];
  if (profile.drain) {
    out.push(`### Draining a backlog of ${profile.drain.records.toLocaleString('en')} inputs (${fmt(profile.drain.rate)}/s under the profiler; join → last commit)`, '');
    out.push(...threadsText(profile.drain.threads));
  }
  if (profile.openLoop) {
    const o = profile.openLoop;
    out.push(
      `### Open loop at ${Math.round(o.load * 100)}% (${fmt(o.offered)} inputs/s; measured window only)`,
      '',
      `Under the profiler: p50 ${fmt(o.latency.p50)} / p99 ${fmt(o.latency.p99)} ms; mean model batch ${fmt(o.pipeline.meanBatch, 1)}; ${fmt(o.pipeline.sendsPerSec)} sends/s of ${fmt(o.pipeline.meanSendMessages, 1)} messages, ${fmt(o.pipeline.meanSendMs, 2)} ms each; ${fmt(o.pipeline.cpuUsPerRecord, 1)} µs CPU per input.`,
      '',
    );
    out.push(...threadsText(o.threads));
  }
  return out.join('\n');
}

function plots(sum: ReturnType<typeof summaries>, meta: RunMeta, dir: string, prefix: string): { sweep: string; model: string } {
  const offered = sum.sweep[0]?.offered?.median;
  const sweepPoints: PlotPoint[] = sum.sweep
    .filter((c) => c.drainRate && c.p99)
    .map((c) => ({
      x: c.drainRate!.median,
      y: Math.max(0.5, c.p99!.median),
      xRange: [c.drainRate!.min, c.drainRate!.max],
      yRange: [Math.max(0.5, c.p99!.min), Math.max(0.5, c.p99!.max)],
      label: `${c.size} / ${c.delay} ms`,
      labelAt: c.delay === 0 ? ('left' as const) : c.delay <= 5 ? ('below' as const) : ('above' as const),
      series: `MAX_BATCH_SIZE ${c.size}`,
    }));
  const sweep = plotSvg({
    title: 'streamserve: batch size × batch delay — throughput against p99 latency',
    subtitle: [
      `x: drain rate of a ${meta.plan.sweep.backlog.toLocaleString('en')}-input backlog; y: p99 end-to-end latency at ${fmt(offered)} inputs/s (50% of the default drain rate)`,
      `label: MAX_BATCH_SIZE / MAX_BATCH_DELAY_MS; dot: median, whiskers: min – max of ${meta.plan.reps} repetitions`,
    ],
    xLabel: 'throughput, records/s (backlog drain)',
    yLabel: 'p99 latency, ms (log)',
    points: sweepPoints,
    logY: true,
    hLine: { y: 50, label: 'target: p99 ≤ 50 ms' },
  });
  const modelPoints: PlotPoint[] = sum.model
    .filter((m) => m.rowsPerSec)
    .map((m) => ({ x: m.batch, y: m.rowsPerSec!.median, yRange: [m.rowsPerSec!.min, m.rowsPerSec!.max], series: `${m.backend}, ${m.mode}` }));
  const model = plotSvg({
    title: 'The model alone: rows per second by batch size',
    subtitle: [`the borehole model in each format; direct = on the calling thread, hosted = as run hosts it (worker thread; ONNX: child process); median of ${meta.plan.reps}, whiskers min – max`],
    xLabel: 'batch size (log)',
    yLabel: 'rows/s (log)',
    points: modelPoints,
    logX: true,
    logY: true,
    lines: true,
  });
  const sweepFile = join(dir, `${prefix}sweep.svg`);
  const modelFile = join(dir, `${prefix}model.svg`);
  writeFileSync(sweepFile, sweep);
  writeFileSync(modelFile, model);
  return { sweep: sweepFile, model: modelFile };
}

export function writeReport(p: {
  dir: string;
  meta: RunMeta;
  raw: RawResults;
  profile: ProfileSummary | null;
  /** Writes summary.md next to the results: the figures the README's Performance section quotes. */
  summary: boolean;
}): string[] {
  const { dir, meta, raw, profile } = p;
  const sum = summaries(raw);
  const t = targets(sum, raw);
  const base = meta.mode === 'full' ? 'bench' : 'quick';
  const prefix = meta.mode === 'full' ? '' : 'quick-';
  const files = plots(sum, meta, dir, prefix);
  const jsonFile = join(dir, `${base}.json`);
  writeFileSync(jsonFile, `${JSON.stringify({ meta, targets: t, summary: sum, profile, raw }, null, 2)}\n`);

  const load = meta.machine.load1mSamples;
  const notOurs = (x: string) => !/npm run bench|bench\/main\.ts/.test(x);
  const before = meta.machine.otherWorkBefore.filter(notOurs);
  const after = meta.machine.otherWorkAfter.filter(notOurs);
  // Another process's work is what tells a shared machine; a load above the core count alone is this benchmark's own
  // broker, clients and streamserve together.
  const shared = before.length + after.length > 0;
  const machine = [
    `${meta.machine.cpus} × ${meta.machine.cpuModel}, ${meta.machine.memoryGB} GB; Node.js ${meta.machine.node}; Apache Kafka ${meta.machine.kafka} (single node, KRaft, own broker on a free port); ${meta.inputs.partitions} partitions. streamserve runs with the node flags it ships with (\`${shippedNodeFlags().join(' ')}\`, bin/streamserve.js); the other sections with node's defaults.`,
    `Load before: \`${meta.machine.loadBefore}\`; after: \`${meta.machine.loadAfter}\`; 1-minute load during the run: median ${fmt(load?.median, 2)}, max ${fmt(load?.max, 2)}.`,
    shared
      ? `**The machine was shared with other work during this run** (other engineers' tests), so absolute figures are noisy and lower than on an idle machine; the ratios in the targets come from interleaved repetitions and are the more robust figures. Busiest other processes at the start: ${before.map((x) => `\`${x}\``).join('; ') || 'none'}; at the end: ${after.map((x) => `\`${x}\``).join('; ') || 'none'}.`
      : 'No other significant work was seen on the machine before or after the run.',
  ].join('\n');

  const md = [
    `# streamserve benchmark — ${meta.mode} run, ${meta.finishedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${meta.command}\` (${Math.round(meta.durationS / 60)} min). ${meta.plan.reps} repetitions of every section, interleaved round by round; median, min – max, spread = (max − min) / median.`,
    '',
    machine,
    '',
    '## Targets',
    '',
    targetTable(t),
    '',
    '## Results',
    '',
    table(mainRows(sum, meta)),
    '',
    `(g) details: mean model batch ${fmt(sum.g.meanBatch?.median)} rows; peak in flight ${fmt(sum.g.peakInflight?.median)} records; main-thread heap at rest ${fmt(sum.g.atRestHeapMB?.median)} MB, largest while draining ${fmt(sum.g.maxHeapTotalMB?.median)} MB; ${fmt(sum.g.cpuSecondsPerMillion?.median, 1)} µs CPU per input (streamserve process, all threads; compare the open-loop column below); start (model load, warm-up, join) ${fmt(sum.g.startMs?.median)} ms, not timed.`,
    `Naive (e): ${fmt(sum.eModelMs?.median, 2)} ms per single-row model call. Open-loop generator lateness p99: ${sum.open.map((o) => `${Math.round(o.load * 100)}% ${fmt(o.generatorLateP99?.median, 1)} ms`).join(', ')} (counted in the latencies).`,
    '',
    '## (g) Open-loop latency, by part',
    '',
    'p50 / p99 in ms (medians of the repetitions). Inputs carry their scheduled time; input and output topics are LogAppendTime; predictions carry `scored_at`.',
    '',
    partsTable(sum),
    '',
    '## (f) The model alone',
    '',
    `Rows per second (median of ${meta.plan.reps}; median ms per call; ± half the relative spread). Runtimes: ${meta.backends.join(', ')}${meta.backends.includes('tensorflow') ? '' : ' (tensorflow: @tensorflow/tfjs-node is not installed)'}; direct: on the calling thread; hosted: as \`run\` hosts it (worker thread; ONNX: child process).`,
    '',
    modelTable(sum),
    '',
    `![model](${relative(dir, files.model)})`,
    '',
    `streamserve with each runtime (the borehole model in each format, hosted as \`run\` hosts it: tfjs and NumPy in a worker thread, ONNX in a child process): drain of a ${meta.plan.sweep.backlog.toLocaleString('en')}-input backlog, then p50 / p99 end-to-end latency at ${Math.round(meta.plan.sweep.load * 100)}% of the default drain rate.`,
    '',
    runtimesTable(sum),
    '',
    '## Batch size × batch delay',
    '',
    sweepTable(sum),
    '',
    `![sweep](${relative(dir, files.sweep)})`,
    '',
    '## Pinning',
    '',
    sum.pin.unpinned && sum.pin.pinned
      ? `Drain of ${meta.plan.smallBacklog.toLocaleString('en')} inputs, unpinned vs broker on CPU 0 (\`taskset -a -p -c 0 <broker pid>\`) and streamserve on CPU 1 (\`taskset -c 1 node …\`): unpinned ${fmt(sum.pin.unpinned.median)}/s (${fmt(sum.pin.unpinned.min)} – ${fmt(sum.pin.unpinned.max)}), pinned ${fmt(sum.pin.pinned.median)}/s (${fmt(sum.pin.pinned.min)} – ${fmt(sum.pin.pinned.max)}), n = ${sum.pin.pinned.n}. Everything else in this run is unpinned.`
      : '_not measured_',
    '',
    '## Where the time goes (streamserve, default settings)',
    '',
    profileText(profile),
    raw.errors.length ? `## Errors\n\n${raw.errors.map((e) => `- ${e.section}, round ${e.rep + 1}: ${e.message.split('\n')[0]}`).join('\n')}\n` : '',
  ].join('\n');
  const mdFile = join(dir, `${base}.md`);
  writeFileSync(mdFile, md);

  const written = [jsonFile, mdFile, files.sweep, files.model];
  const machineShort = [
    `${meta.machine.cpus} × ${meta.machine.cpuModel}, Node.js ${meta.machine.node}, Apache Kafka ${meta.machine.kafka} (single node), ${meta.inputs.partitions} partitions; median of ${meta.plan.reps} interleaved repetitions, min – max, spread = (max − min) / median.`,
    shared
      ? `**Shared machine:** other engineers' tests ran during this run (1-minute load median ${fmt(load?.median, 1)}, max ${fmt(load?.max, 1)} on ${meta.machine.cpus} cores; before \`${meta.machine.loadBefore.replace(/.*load average: /, '')}\`, after \`${meta.machine.loadAfter.replace(/.*load average: /, '')}\`), so absolute figures are noisy and low; the interleaved ratios are the robust ones.`
      : `Load average before \`${meta.machine.loadBefore.replace(/.*load average: /, '')}\`, after \`${meta.machine.loadAfter.replace(/.*load average: /, '')}\`.`,
  ].join(' ');
  if (p.summary) written.push(writeSummary(dir, meta, sum, t, files, machineShort));
  return written;
}

function writeSummary(dir: string, meta: RunMeta, sum: ReturnType<typeof summaries>, t: Record<string, Target>, files: { sweep: string; model: string }, machine: string): string {
  const summary = join(dir, 'summary.md');
  const rel = (f: string) => relative(dir, f);
  const section = [
    '# Performance: latest full run',
    '',
    `\`npm run bench\` measures streamserve against its ceilings on this machine, in one run on a broker of its own: Apache Kafka's own producer and consumer performance tools, bare kafkajs clients, the model alone, the naive one-record-at-a-time loop, and streamserve draining a ${meta.inputs.backlog.toLocaleString('en')}-input backlog and serving open-loop load. What each section does, how, and what the figures mean (findings, fixes and their effect, profiles): [bench/README.md](../README.md) and [docs/performance-notebook.md](../../docs/performance-notebook.md). Latest full run (${meta.finishedAt.slice(0, 10)}, ${meta.durationS >= 60 ? `${Math.round(meta.durationS / 60)} min` : `${meta.durationS} s`}; all figures and the profile: [${rel(join(dir, 'bench.md'))}](${rel(join(dir, 'bench.md'))}), raw: [${rel(join(dir, 'bench.json'))}](${rel(join(dir, 'bench.json'))})):`,
    '',
    machine,
    '',
    targetTable(t),
    '',
    table(mainRows(sum, meta)),
    '',
    `![throughput against p99 latency by batch size and delay](${rel(files.sweep)})`,
    '',
    `\`npm run bench -- --quick\` runs every section briefly (2 repetitions) while working on the benchmark; its figures are not comparable.`,
    '',
  ].join('\n');
  writeFileSync(summary, section);
  return summary;
}
