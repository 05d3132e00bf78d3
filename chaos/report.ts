/** The chaos run's figures as Markdown: the verdict, a summary per fault kind and mode, and every fault. */
import type { Guarantee } from '../test/fault/support/tally.js';
import { emptyFigures, type WindowFigures } from './check.js';
import type { ChaosResult, GroupResult } from './run.js';
import { FAULT_KINDS, describeSchedule } from './schedule.js';

/** Why a group fails the run: lost anything, answered wrongly, died unexpectedly; under exactly-once, repeated or reordered. */
export function failures(g: GroupResult): string[] {
  const t = g.check.total;
  const out: string[] = [];
  if (t.lost > 0) out.push(`${t.lost} inputs lost`);
  if (t.wrong > 0) out.push(`${t.wrong} wrong outcomes`);
  if (g.check.unknown > 0) out.push(`${g.check.unknown} outcomes of inputs never sent`);
  if (g.exits.unexpected > 0) out.push(`${g.exits.unexpected} unexpected exits`);
  if (Number.isNaN(g.catchUpMs)) out.push('never caught up after the producer stopped');
  if (g.guarantee === 'exactly-once' && t.duplicated > 0) out.push(`${t.duplicated} inputs duplicated`);
  if (g.guarantee === 'exactly-once' && t.outOfOrder > 0) out.push(`${t.outOfOrder} inputs out of order`);
  return out;
}

export function passed(r: ChaosResult): boolean {
  return r.groups.every((g) => failures(g).length === 0);
}

const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '–' : (ms / 1000).toFixed(1));

export function report(r: ChaosResult): string {
  const lines: string[] = [];
  const o = r.options;
  lines.push(
    `# Chaos run: seed ${o.seed}, ${s(o.durationMs)} s, ${o.rate} inputs/s per mode, ${o.instances} instances per mode`,
    '',
    `${passed(r) ? 'PASS' : 'FAIL'}: ${r.faults.length} faults (${r.faults.filter((f) => f.skipped).length} skipped); producer generated ${r.producer.generated}, ${r.producer.failedSends} failed sends retried, ${r.producer.schemaVersions} writer schema versions; whole run ${s(r.durationMs)} s; instance logs in ${r.logs}`,
    '',
    '| mode | inputs | lost | duplicated | out of order (per key) | wrong | unknown | longest gap s | max latency s | starts | exits killed / ACL / unexpected | catch-up s | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const g of r.groups) {
    const t = g.check.total;
    const why = failures(g);
    lines.push(
      `| ${g.guarantee} | ${t.inputs} | ${t.lost} | ${t.duplicated} | ${t.outOfOrder} | ${t.wrong} | ${g.check.unknown} | ${s(t.longestGapMs)} | ${s(t.maxLatencyMs)} | ${g.starts} | ${g.exits.killed} / ${g.exits.acl} / ${g.exits.unexpected} | ${s(g.catchUpMs)} | ${why.length === 0 ? 'pass' : why.join('; ')} |`,
    );
  }
  lines.push('', `Per fault kind (figures of the inputs generated from each fault's start to the next's; recovery: from the heal until the lag is at most ${r.recoveredLag}):`, '');
  lines.push('| fault | count | mode | lost | duplicated | out of order | wrong | longest gap s | max latency s | recovery median s | recovery max s |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const kind of FAULT_KINDS) {
    const of = r.faults.filter((f) => f.planned.kind === kind && f.skipped === undefined);
    if (of.length === 0) continue;
    for (const g of r.groups) {
      const w = sum(of.map((f) => g.check.windows[f.planned.n]!));
      const rec = of.map((f) => f.recoveryMs[g.guarantee]);
      const known = rec.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
      const missing = rec.length - known.length;
      lines.push(
        `| ${kind} | ${of.length} | ${g.guarantee} | ${w.lost} | ${w.duplicated} | ${w.outOfOrder} | ${w.wrong} | ${s(w.longestGapMs)} | ${s(w.maxLatencyMs)} | ${s(known[Math.floor((known.length - 1) / 2)])} | ${s(known.at(-1))}${missing > 0 ? ` (${missing} not before the next fault)` : ''} |`,
      );
    }
  }
  lines.push('', 'Every fault:', '', '| # | at s | fault | target | held s | ' + r.groups.map((g) => `${short(g.guarantee)} inputs / lost / dup / ooo / gap s / recovery s`).join(' | ') + ' |');
  lines.push('|---|---|---|---|---|' + r.groups.map(() => '---|').join(''));
  for (const f of r.faults) {
    const p = f.planned;
    const cells = r.groups.map((g) => {
      const w = g.check.windows[p.n]!;
      return `${w.inputs} / ${w.lost} / ${w.duplicated} / ${w.outOfOrder} / ${s(w.longestGapMs)} / ${s(f.recoveryMs[g.guarantee])}`;
    });
    lines.push(
      `| ${p.n} | ${s(f.startedAt - r.startedAt)} | ${p.kind}${f.skipped ? ` (skipped: ${f.skipped})` : ''} | ${p.target ? `${short(p.target.guarantee)}[${p.target.slot}]` : 'all'} | ${s(p.holdMs)} | ${cells.join(' | ')} |`,
    );
  }
  const examples = r.groups.flatMap((g) => Object.values(g.check.total.examples).flatMap((list) => list.map((e) => `- ${g.guarantee}: ${e}`)));
  if (examples.length > 0) lines.push('', 'Examples:', '', ...examples);
  const unexpected = r.groups.flatMap((g) => g.unexpected.map((u) => `- ${g.guarantee}: ${u.split('\n').slice(0, 6).join(' ⏎ ')}`));
  if (unexpected.length > 0) lines.push('', 'Unexpected exits:', '', ...unexpected);
  if (!passed(r)) lines.push('', 'Schedule (the seed fixes it, not the timing):', '', '```', describeSchedule(r.schedule), '```');
  return lines.join('\n');
}

function short(g: Guarantee): string {
  return g === 'exactly-once' ? 'EOS' : 'ALO';
}

function sum(ws: WindowFigures[]): WindowFigures {
  const out = emptyFigures();
  for (const w of ws) {
    out.inputs += w.inputs;
    out.lost += w.lost;
    out.duplicated += w.duplicated;
    out.outOfOrder += w.outOfOrder;
    out.wrong += w.wrong;
    out.longestGapMs = Math.max(out.longestGapMs, w.longestGapMs);
    out.maxLatencyMs = Math.max(out.maxLatencyMs, w.maxLatencyMs);
  }
  return out;
}
