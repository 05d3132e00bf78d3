/**
 * The CLI speaks the Confluent framing: `produce --wire-format confluent` refuses a line with a misspelt field or a
 * value of the wrong JSON type (naming the field) and frames the rest with the input schema's registry id;
 * `consume` decodes predictions with the registry; `consume --dead-letters` shows the original value decoded, the
 * error headers, and filters by code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from '../../../src/app.js';
import { ErrorCodes } from '../../../src/errors.js';
import { createTestTopics, testBrokers, testConfig, testLogger, testTopics } from '../support/app.js';
import { readAll } from '../../support/kafka.js';
import { resolveTestRegistry, type TestRegistry } from '../../support/registry.js';
import { caughtUp } from '../../fault/support/inprocess.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let registry: TestRegistry;
let dir: string;

before(async () => {
  registry = await resolveTestRegistry();
  dir = mkdtempSync(join(tmpdir(), 'streamserve-cli-registry-'));
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await registry?.stop();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/streamserve.js', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const good = (id: string, Tu = 89335) => ({ id, rw: 0.1, r: 25000, Tu, Hu: 1050, Tl: 89, Hl: 760, L: 1400, Kw: 10950 });

test('produce and consume --wire-format confluent; produce refuses unknown fields and wrong types by name', async (t) => {
  const topics = testTopics('cli-registry');
  await createTestTopics(topics, 1, { after: (fn) => t.after(fn) });
  const common = ['--brokers', testBrokers().join(','), '--schema-registry-url', registry.url, '--input-topic', topics.input, '--output-topic', topics.output, '--dlq-topic', topics.dlq];
  const lines = [
    good('ok-1'),
    { ...good('typo'), Tu: undefined, tu: 89335 },
    { ...good('wrong-type'), Hu: '1050' },
    good('ok-2'),
    good('out-of-range', 1), // valid JSON for the schema; the model's range check dead-letters it
  ];
  const file = join(dir, 'inputs.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

  const produced = await cli(['produce', ...common, '--wire-format', 'confluent', '--file', file]);
  assert.equal(produced.code, 1, produced.stderr);
  assert.match(produced.stderr, /line 2: not a valid input: unknown field "tu" \(did you mean "Tu"\?\)/);
  assert.match(produced.stderr, /line 3: not a valid input: field "Hu": "1050" is not \["null","double"\]/);
  assert.match(produced.stderr, /produced 3 inputs .*2 bad lines skipped/);
  const sent = await readAll(testBrokers(), topics.input);
  assert.deepEqual(sent.map((m) => m.key!.toString()), ['ok-1', 'ok-2', 'out-of-range']);
  for (const m of sent) assert.equal(m.value![0], 0, 'framed: magic byte first');

  const config = testConfig(topics, { 'wire-format': 'confluent', 'output-wire-format': 'confluent', 'schema-registry-url': registry.url });
  const app = new App({ config, logger: testLogger(config) });
  t.after(() => app.stop().then(() => undefined));
  await app.start();
  await caughtUp(app, testBrokers(), 1);

  const predictions = await cli(['consume', ...common, '--wire-format', 'confluent', '--max', '2', '--idle-ms', '2000']);
  assert.equal(predictions.code, 0, predictions.stderr);
  const read = predictions.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: { id: string; flow_rate: number }; schemaId: number });
  assert.deepEqual(read.map((r) => r.value?.id), ['ok-1', 'ok-2'], predictions.stdout);
  for (const r of read) assert.ok(r.value.flow_rate > 0 && Number.isInteger(r.schemaId));

  const dead = await cli(['consume', ...common, '--wire-format', 'confluent', '--dead-letters', '--code', ErrorCodes.OUT_OF_RANGE, '--idle-ms', '2000']);
  assert.equal(dead.code, 0, dead.stderr);
  const letters = dead.stdout.trim().split('\n').map((l) => JSON.parse(l) as { error: { code: string; stage: string }; value: { id: string; Tu: number } });
  assert.equal(letters.length, 1);
  assert.equal(letters[0]!.error.code, ErrorCodes.OUT_OF_RANGE);
  assert.equal(letters[0]!.error.stage, 'validate');
  assert.equal(letters[0]!.value.id, 'out-of-range', 'the original value, decoded');
  assert.equal(letters[0]!.value.Tu, 1);
  const none = await cli(['consume', ...common, '--wire-format', 'confluent', '--dead-letters', '--code', ErrorCodes.UNKNOWN_SCHEMA_ID, '--idle-ms', '1000']);
  assert.equal(none.stdout.trim(), '', 'filtered by code');
});
