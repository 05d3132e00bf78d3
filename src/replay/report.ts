import { describeRange, planTotal, type ReplayRange } from './plan.js';
import type { ReplayStatus } from './progress.js';
import type { PreparedReplay, ReplayResult } from './job.js';

/** What `replay` prints on stdout: the plan (dry run) and the summary. Pure text; lines without trailing newline. */

export interface Targets {
  input: string;
  target: string;
  deadLetters: string;
  range: ReplayRange;
}

/** The dry run: per-partition start, end, records, and where a resumed replay stands. */
export function formatPlan(p: PreparedReplay, t: Targets): string[] {
  const rows = p.plan.partitions.map((part) => {
    const total = BigInt(part.end) - BigInt(part.start);
    const committed = p.committed.get(part.partition);
    const at = committed === undefined ? BigInt(part.start) : BigInt(committed);
    const remaining = at >= BigInt(part.end) ? 0n : BigInt(part.end) - (at < BigInt(part.start) ? BigInt(part.start) : at);
    return [String(part.partition), part.start, part.end, total.toString(), committed ?? '-', remaining.toString()];
  });
  const total = planTotal(p.plan);
  const remaining = rows.reduce((n, r) => n + Number(r[5]), 0);
  const lines = [
    `replay ${p.plan.id} (${p.stored ? `stored plan, made ${p.plan.createdAt}` : 'new plan, not stored: dry run'})`,
    `  ${t.input} → ${t.target}; dead letters → ${t.deadLetters}; model ${p.model.name} ${p.model.version}`,
    `  ${describeRange(t.range)}`,
    ...table(['partition', 'start', 'end', 'records', 'committed', 'remaining'], rows).map((l) => `  ${l}`),
    `records: ${total}`,
    `remaining: ${remaining}`,
  ];
  for (const w of p.warnings) lines.push(`warning: ${w}`);
  return lines;
}

/** The end-of-run summary: records, predictions, dead letters, duration, rate. */
export function formatSummary(r: ReplayResult, t: Targets): string[] {
  const s: ReplayStatus = r.status;
  const c = r.counts;
  const outcomes = c ? c.predictions + c.deadLetters : 0;
  const seconds = r.runMs / 1000;
  const head =
    r.outcome === 'complete'
      ? c === null
        ? `replay ${s.id}: complete (nothing left to do)`
        : `replay ${s.id}: complete`
      : r.outcome === 'interrupted'
        ? `replay ${s.id}: interrupted at ${s.done}/${s.total}; run the same command again to resume`
        : `replay ${s.id}: failed at ${s.done}/${s.total}${r.error ? `: ${r.error.message}` : ''}; run the same command again to resume`;
  return [
    head,
    `  range        ${t.input} → ${t.target}, ${s.total} records (${s.done} done, ${s.remaining} remaining)`,
    `  records      ${outcomes} this run: ${c?.predictions ?? 0} predictions, ${c?.deadLetters ?? 0} dead letters (→ ${t.deadLetters})`,
    `  duration     ${seconds.toFixed(1)} s scoring, after ${(r.startupMs / 1000).toFixed(1)} s start-up`,
    `  rate         ${seconds > 0 ? Math.round(outcomes / seconds) : 0} records/s`,
  ];
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}
