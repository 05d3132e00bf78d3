/**
 * `npx tsx bench/rereport.ts bench/results/bench.json [--summary]`: writes the markdown, plots (and README section)
 * again from a results file, without measuring anything — for changes to the report itself.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { normalizeProfile, writeReport, type RawResults, type RunMeta } from './report.js';

const file = process.argv[2];
if (!file) throw new Error('usage: tsx bench/rereport.ts <results.json> [--summary]');
const json = JSON.parse(readFileSync(file, 'utf8')) as { meta: RunMeta; raw: RawResults; profile: unknown };
const written = writeReport({ dir: dirname(resolve(file)), meta: json.meta, raw: json.raw, profile: normalizeProfile(json.profile), summary: process.argv.includes('--summary') });
process.stdout.write(`${written.join('\n')}\n`);
