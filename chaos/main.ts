/**
 * `npm run chaos`: three `streamserve run` instances per delivery mode, a producer at a fixed rate, and faults at
 * random from a seed (see chaos/README.md). Prints the figures as Markdown, writes them to --out if given, and
 * exits 1 when an invariant broke.
 *
 *   npm run chaos -- [--seed N] [--duration 180] [--rate 100] [--instances 3] [--out chaos/results/run.md]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { describeSchedule, planFaults } from './schedule.js';
import { passed, report } from './report.js';
import { runChaos } from './run.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    duration: { type: 'string', default: '180' },
    rate: { type: 'string', default: '100' },
    instances: { type: 'string', default: '3' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`chaos: --${name} must be a positive integer (got ${JSON.stringify(text)})`);
    process.exit(2);
  }
  return n;
}

const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : positiveInt('seed', values.seed);
const durationMs = positiveInt('duration', values.duration) * 1000;
const instances = positiveInt('instances', values.instances);
const log = (line: string) => {
  if (!values.quiet || line.startsWith('chaos:')) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};
log(`chaos: seed ${seed}; schedule:\n${describeSchedule(planFaults(seed, durationMs, instances))}`);
const result = await runChaos({ seed, durationMs, rate: positiveInt('rate', values.rate), instances, log });
const text = report(result);
console.log(text);
if (values.out !== undefined) {
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${text}\n`);
}
process.exitCode = passed(result) ? 0 : 1;
