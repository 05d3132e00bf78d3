/**
 * `npx tsx bench/profileCompare.ts [records] [reps]`: (d), (d) under streamserve's node flags, and (g) drain the same
 * backlog (300,000 by default) under `--cpu-prof`, one after another on a broker of its own; prints, per thread busy
 * over 2 %, where the time goes in µs per input (by path and by function), so what only streamserve pays stands out.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { shippedNodeFlags } from '../src/index.js';
import { withOwnBacklog } from './ownBacklog.js';
import { PLANS } from './plan.js';
import { drain, forward } from './sections.js';
import { summarizeProfiles } from './profile.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const records = Number(process.argv[2] ?? 300000);
const reps = Number(process.argv[3] ?? 1);
const LABELS = { d: '(d)', dflags: "(d) under streamserve's node flags", g: '(g) streamserve' } as const;

/** Each busy thread of one profiled run: µs per input by path and by function. */
function show(name: string, rate: number, dir: string, window: [number, number]): void {
  for (const t of summarizeProfiles(dir, window).threads) {
    if (t.busy < 0.02) continue;
    const usPer = (t.windowMs * 1000) / records;
    say(`${name}, ${Math.round(rate)}/s, ${t.thread}: busy ${(t.busy * 100).toFixed(0)}% = ${(t.busy * usPer).toFixed(2)} µs/input`);
    say('   path: ' + t.byPath.map((p) => `${p.name.split(':')[0]} ${(p.share * usPer).toFixed(2)}`).join(' | '));
    say('   top: ' + t.topFunctions.slice(0, 12).map((f) => `${f.fn.slice(0, 50)} ${(f.share * usPer).toFixed(2)}`).join(' | '));
  }
}

await withOwnBacklog({ name: 'profile-compare', records, log: say }, async (base, topic) => {
  const ctx = { ...base, plan: { ...PLANS.quick, d: records } };
  for (let rep = 0; rep < reps; rep++) {
    for (const v of ['d', 'dflags', 'g'] as const) {
      const dir = join(tmpdir(), 'streamserve-profile-compare', `${v}-${rep}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (v === 'g') {
        const r = await drain(ctx, topic, { name: 'profile-compare-g', cpuProfDir: dir });
        show(LABELS[v], r.rate, dir, r.profileWindowUs!);
      } else {
        const r = await forward(ctx, 'avro', { cpuProfDir: dir, ...(v === 'dflags' ? { nodeFlags: shippedNodeFlags() } : {}) });
        show(LABELS[v], r.rate, dir, r.windowHrUs!);
      }
    }
  }
});
