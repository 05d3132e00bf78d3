/**
 * (reg): the drain rate with the Confluent wire format in and out (Schema Registry framing, writer schema fetched by
 * id and resolved to the reader schema, predictions registered and framed) next to raw Avro, in the same round, on
 * backlogs of the same inputs; and the registry calls each confluent drain made (once per schema id, not per record).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchRegistry } from './registry.js';
import type { RunMeta } from './report.js';
import { drain, type Context, type DrainRun } from './sections.js';
import { summarize } from './stats.js';

export interface RegistryRun {
  rep: number;
  raw: DrainRun;
  confluent: DrainRun;
  /** confluent rate / raw rate. */
  ratio: number;
  /** Requests the confluent drain made to the registry, by method and path pattern. */
  registryCalls: Record<string, number>;
}

/** One raw drain and one confluent drain, in alternating order from round to round. */
export async function registryDrains(
  ctx: Context,
  p: { rep: number; rawTopic: string; confluentTopic: string; registry: BenchRegistry },
): Promise<RegistryRun> {
  const overrides = { 'wire-format': 'confluent', 'output-wire-format': 'confluent', 'schema-registry-url': p.registry.url };
  let raw: DrainRun | undefined;
  let confluent: DrainRun | undefined;
  let registryCalls: Record<string, number> = {};
  for (const kind of p.rep % 2 === 0 ? ['raw', 'confluent'] : ['confluent', 'raw']) {
    if (kind === 'raw') raw = await drain(ctx, p.rawTopic, { name: `reg-raw-${p.rep}` });
    else {
      p.registry.reset();
      confluent = await drain(ctx, p.confluentTopic, { name: `reg-confluent-${p.rep}`, overrides });
      registryCalls = p.registry.calls();
    }
  }
  return { rep: p.rep, raw: raw!, confluent: confluent!, ratio: confluent!.rate / raw!.rate, registryCalls };
}

/** results/registry[-quick].json and .md; returns the files written. */
export function writeRegistryReport(dir: string, meta: RunMeta, runs: RegistryRun[], errors: { section: string; rep: number; message: string }[]): string[] {
  const base = meta.mode === 'full' ? 'registry' : 'quick-registry';
  const raw = summarize(runs.map((r) => r.raw.rate));
  const confluent = summarize(runs.map((r) => r.confluent.rate));
  const ratio = summarize(runs.map((r) => r.ratio));
  const lookups = runs.map((r) => r.registryCalls['GET /schemas/ids/{id}'] ?? 0);
  const json = join(dir, `${base}.json`);
  writeFileSync(json, `${JSON.stringify({ meta, summary: { raw, confluent, ratio, lookupsById: lookups }, runs, errors: errors.filter((e) => e.section === 'reg') }, null, 2)}\n`);
  const n = (x: number | undefined) => (x === undefined ? '—' : Math.round(x).toLocaleString('en'));
  const md = [
    `# Schema Registry framing against raw Avro — ${meta.mode} run, ${meta.finishedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Command: \`${meta.command}\`. Each round drains the same ${runs[0]?.raw.records.toLocaleString('en') ?? '?'} inputs twice with default settings, in alternating order: raw Avro in and out, then WIRE_FORMAT=confluent and OUTPUT_WIRE_FORMAT=confluent (Apicurio Registry ${'3.0.9'} behind a counting proxy). Machine: ${meta.machine.cpus} × ${meta.machine.cpuModel}, Node.js ${meta.machine.node}; load before \`${meta.machine.loadBefore}\`.`,
    '',
    '| | median | min – max |',
    '|---|---|---|',
    `| raw drain, inputs/s | ${n(raw?.median)} | ${n(raw?.min)} – ${n(raw?.max)} |`,
    `| confluent in + out drain, inputs/s | ${n(confluent?.median)} | ${n(confluent?.min)} – ${n(confluent?.max)} |`,
    `| confluent / raw (per round) | ${ratio?.median.toFixed(2) ?? '—'} | ${ratio?.min.toFixed(2) ?? '—'} – ${ratio?.max.toFixed(2) ?? '—'} |`,
    '',
    `Target: confluent / raw ≥ 0.9 — ${ratio === null || ratio === undefined ? 'no data' : ratio.median >= 0.9 ? '**met**' : '**missed**'}.`,
    '',
    'Registry calls per confluent drain (one schema id in the backlog):',
    '',
    ...runs.map((r) => `- round ${r.rep + 1}: ${Object.entries(r.registryCalls).map(([k, v]) => `\`${k}\` × ${v}`).join(', ')}`),
    '',
  ].join('\n');
  const mdFile = join(dir, `${base}.md`);
  writeFileSync(mdFile, md);
  return [json, mdFile];
}
