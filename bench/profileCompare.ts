/**
 * `npx tsx bench/profileCompare.ts [records] [reps]`: (d), (d) under streamserve's node flags, and (g) drain the same
 * backlog (300,000 by default) under `--cpu-prof`, one after another on a broker of its own; prints, per thread busy
 * over 2 %, where the time goes in µs per input (by path and by function), so what only streamserve pays stands out.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { loadAvroSchema } from '../src/codec/schema.js';
import { shippedNodeFlags } from '../src/cli/nodeFlags.js';
import { startBenchBroker } from './broker.js';
import { benchKafka } from './clients.js';
import { preload } from './inputs.js';
import { PLANS } from './plan.js';
import { killAllChildren } from './proc.js';
import { drain, forward, type Context } from './sections.js';
import { summarizeProfiles } from './profile.js';
import { uniqueName } from './util.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const say = (line: string) => process.stdout.write(`${line}\n`);
const records = Number(process.argv[2] ?? 300000);
const broker = await startBenchBroker(() => {});
process.once('SIGINT', () => {
  killAllChildren();
  void broker.cleanup().finally(() => process.exit(130));
});
const LABELS = { d: '(d)', dflags: "(d) under streamserve's node flags", g: '(g) streamserve' } as const;
try {
  const kafka = benchKafka(broker.brokers, 'cmp');
  const admin = kafka.admin();
  await admin.connect();
  const [inputType, outputType] = await Promise.all([loadAvroSchema('schemas/borehole-input.avsc'), loadAvroSchema('schemas/borehole-prediction.avsc')]);
  const topic = uniqueName('cmp');
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] });
  const loaded = await preload(kafka, inputType, topic, records, 'w');
  const logDir = join(tmpdir(), 'streamserve-profile-compare', 'logs');
  mkdirSync(logDir, { recursive: true });
  const ctx: Context = {
    brokers: broker.brokers, kafka, admin, inputType, outputType, plan: { ...PLANS.quick, d: records }, backlogTopic: topic, smallBacklogTopic: topic,
    partitions: 6, meanInputBytes: loaded.meanBytes, logDir, allCpus: `0-${cpus().length - 1}`, brokerPid: () => broker.pid() ?? null, log: say,
  };
  const show = (name: string, rate: number, dir: string, w: [number, number]) => {
    const s = summarizeProfiles(dir, w);
    for (const t of s.threads) {
      if (t.busy < 0.02) continue;
      const usPer = (t.windowMs * 1000) / records;
      say(`${name}, ${Math.round(rate)}/s, ${t.thread}: busy ${(t.busy * 100).toFixed(0)}% = ${(t.busy * usPer).toFixed(2)} µs/input`);
      say('   path: ' + t.byPath.map((p) => `${p.name.split(':')[0]} ${(p.share * usPer).toFixed(2)}`).join(' | '));
      say('   top: ' + t.topFunctions.slice(0, 12).map((f) => `${f.fn.slice(0, 50)} ${(f.share * usPer).toFixed(2)}`).join(' | '));
    }
  };
  for (let rep = 0; rep < Number(process.argv[3] ?? 1); rep++) {
    for (const v of ['d', 'dflags', 'g'] as const) {
      const dir = join(tmpdir(), 'streamserve-profile-compare', `${v}-${rep}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (v === 'g') {
        const r = await drain(ctx, topic, { name: 'cmp-g', cpuProfDir: dir });
        show(LABELS[v], r.rate, dir, r.profileWindowUs!);
      } else {
        const r = await forward(ctx, 'avro', { cpuProfDir: dir, ...(v === 'dflags' ? { nodeFlags: shippedNodeFlags() } : {}) });
        show(LABELS[v], r.rate, dir, r.windowHrUs!);
      }
    }
  }
  await admin.disconnect();
} finally {
  killAllChildren();
  await broker.cleanup();
}
