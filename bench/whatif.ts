/**
 * `npx tsx bench/whatif.ts [--records N] [--reps N] [--variant 'name=words'…]`: streamserve drains of one
 * backlog under variants, alternating, on a broker of its own — to try a
 * suggested fix for peak RSS or throughput before changing anything. Prints rate, RSS at rest, peak RSS and the
 * largest main-thread heap for each drain. A variant's words are node flags (`--max-old-space-size=128`) or
 * streamserve settings by flag name (`max-inflight=5000`); without node flags a variant runs with the flags streamserve
 * ships with (bin/streamserve.js), `--no-flags` runs with V8's defaults. Default variants: shipped, and V8 defaults.
 * `--open RATE` follows each drain with an open-loop run at RATE inputs/s (3 s warm-up, 10 s measured) under the same
 * variant, and prints its latency, event-loop delay and GC pauses; a variant's word `generator-linger-ms=N` sets the
 * generator's send interval for it.
 */
import { parseArgs } from 'node:util';
import { withOwnBacklog } from './ownBacklog.js';
import { drain, openLoop } from './sections.js';
import { summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    reps: { type: 'string', default: '3' },
    variant: { type: 'string', multiple: true },
    open: { type: 'string' },
  },
  strict: true,
});
const variants = (values.variant?.length ? values.variant : ['shipped=', 'V8 defaults=--no-flags']).map((v) => {
  const at = v.indexOf('=');
  const flags = v.slice(at + 1).trim();
  const words = flags === '' ? [] : flags.split(/\s+/);
  const settings = Object.fromEntries(words.filter((w) => !w.startsWith('--')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  // Not a streamserve setting: the open-loop generator's send interval.
  const lingerMs = settings['generator-linger-ms'] === undefined ? undefined : Number(settings['generator-linger-ms']);
  delete settings['generator-linger-ms'];
  // No node flags: the flags streamserve ships with (bin/streamserve.js); `--no-flags`: none at all.
  const nodeFlags = words.filter((w) => w.startsWith('--') && w !== '--no-flags');
  return { name: v.slice(0, at), flags: nodeFlags.length > 0 || words.includes('--no-flags') ? nodeFlags : undefined, settings, lingerMs, words };
});
const records = Number(values.records);
/** Offered inputs per second of an open-loop run after each drain (none without --open). */
const openRate = values.open === undefined ? null : Number(values.open);
const reps = Number(values.reps);
const say = (line: string) => process.stdout.write(`${line}\n`);

await withOwnBacklog({ name: 'whatif', records, log: say }, async (ctx, topic) => {
  const results = new Map<string, { rate: number; rest: number; peak: number; heap: number; inflight: number; p99: number }[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const v of variants) {
      const r = await drain(ctx, topic, { name: `whatif-${v.name.replace(/\W+/g, '-')}`, nodeFlags: v.flags, overrides: v.settings });
      const row = { rate: r.rate, rest: r.atRest.rss ?? Number.NaN, peak: r.peakRssMB ?? Number.NaN, heap: r.maxHeapTotalMB, inflight: r.peakInflight, p99: Number.NaN };
      (results.get(v.name) ?? results.set(v.name, []).get(v.name)!).push(row);
      const sends = r.sends ? `${r.sends.sends} sends of ${Math.round(r.sends.messages / Math.max(1, r.sends.sends))} messages` : '';
      const gc = r.loop ? `GC pauses ${Math.round((r.loop.gcPauseMs / 10) / r.seconds)}% of the time (longest ${r.loop.gcMaxPauseMs} ms), loop delay max ${r.loop.delayMaxMs} ms` : '';
      say(`${v.name} [${v.words.join(' ')}]: ${Math.round(row.rate)}/s, RSS at rest ${row.rest} MB, peak ${row.peak} MB, largest heap ${row.heap} MB, peak in flight ${row.inflight}; ${sends}; ${gc}`);
      if (openRate !== null) {
        const { points } = await openLoop(ctx, { name: `whatif-open-${v.name.replace(/\W+/g, '-')}`, loads: [1], referenceRate: openRate, warmupS: 3, measureS: 10, overrides: v.settings, nodeFlags: v.flags, ...(v.lingerMs === undefined ? {} : { generatorLingerMs: v.lingerMs }) });
        const pt = points[0]!;
        row.p99 = pt.latency.p99;
        const l = pt.pipeline.loop;
        say(`  open loop at ${openRate}/s: p50 ${pt.latency.p50} / p99 ${pt.latency.p99} / p99.9 ${pt.latency.p999} ms; appended → scored p99 ${pt.parts.toScored[1]} ms; CPU ${pt.pipeline.cpuUsPerRecord?.toFixed(1)} µs/input` +
          (l ? `; loop delay p99 ${l.delayP99Ms} / max ${l.delayMaxMs} ms; GC ${l.gcPauses} pauses, ${l.majorGcs} full, longest ${l.gcMaxPauseMs} ms` : ''));
      }
    }
  }
  say(`\nmedians over ${reps} drains of ${records.toLocaleString('en')} inputs:`);
  for (const v of variants) {
    const rows = results.get(v.name) ?? [];
    const m = (k: 'rate' | 'rest' | 'peak' | 'heap' | 'inflight' | 'p99') => Math.round(summarize(rows.map((r) => r[k]))?.median ?? Number.NaN);
    const open = openRate === null ? '' : `   p99 at ${openRate}/s ${m('p99')} ms`;
    say(`  ${v.name.padEnd(14)} ${String(m('rate')).padStart(7)}/s   at rest ${m('rest')} MB   peak ${m('peak')} MB   heap ${m('heap')} MB   in flight ${m('inflight')}${open}   [${v.words.join(' ')}]`);
  }
});
