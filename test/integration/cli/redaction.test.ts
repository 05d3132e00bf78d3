/**
 * Secrets never shown (issue 20): the real binary run the way an operator runs it, with every secret setting set to a
 * distinctive value and a Schema Registry URL that carries credentials (userinfo and a `?token=`), against the real
 * broker and a real registry — `run` (Confluent framing both ways, HTTP served with a token, records scored and
 * dead-lettered, SIGTERM), a `run` whose registry is not there (startup failure), a `run` whose registry URL is
 * invalid (a config error that quotes it) and `demo` (which prints a command line naming the registry). Every byte
 * of their stdout and stderr, and the admin answers (/status, /readyz, /metrics), must hold none of the secrets, and
 * the redaction marker where they were.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { BIN, shippedNodeFlags } from '../../../src/cli/nodeFlags.js';
import { frameHeader } from '../../../src/codec/confluentFrame.js';
import { settingNames, settings } from '../../../src/config/settings.js';
import { sampleBoreholeInputs } from '../../../src/model/borehole.js';
import { REDACTED } from '../../../src/redact.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { publish } from '../../fault/support/inputs.js';
import { poll } from '../../fault/support/wait.js';
import { createKafka, withTimeout } from '../../support/kafka.js';
import { resolveTestRegistry, type TestRegistry } from '../../support/registry.js';
import { createTestTopics, testBrokers, testTopics } from '../support/app.js';
import { freePort } from '../support/process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A distinctive value for every setting marked secret (the first test checks none is missing). */
const SECRETS = {
  saslPassword: 'SaslPw-7Gq2Lx91',
  schemaRegistryPassword: 'RegistryPw-4Tn8Vc23',
  httpToken: 'HttpToken-9Jd5Ks47',
} as const;
/** The credentials inside the registry URL. */
const URL_USER = 'UrlUser-2Bw6Rm58';
const URL_PASSWORD = 'UrlPw-8Hc3Np16';
const URL_TOKEN = 'UrlToken-5Fz1Qa72';
const ALL = [...Object.values(SECRETS), URL_USER, URL_PASSWORD, URL_TOKEN];

const COUNT = 200;

let registry: TestRegistry;
before(async () => {
  registry = await resolveTestRegistry();
});
after(() => registry?.stop());

/** The registry's URL with credentials in it: userinfo and a credential-like query parameter. */
function credentialedUrl(base: string): string {
  const url = new URL(base);
  url.username = URL_USER;
  url.password = URL_PASSWORD;
  url.searchParams.set('token', URL_TOKEN);
  return url.toString();
}

/** The environment every run gets: each secret setting set (SASL's without a mechanism: the broker has none). */
function secretEnv(registryUrl: string): Record<string, string> {
  return {
    KAFKA_BROKERS: testBrokers().join(','),
    KAFKA_SASL_USERNAME: 'streamserve',
    KAFKA_SASL_PASSWORD: SECRETS.saslPassword,
    SCHEMA_REGISTRY_URL: registryUrl,
    SCHEMA_REGISTRY_USERNAME: 'streamserve',
    SCHEMA_REGISTRY_PASSWORD: SECRETS.schemaRegistryPassword,
    HTTP_TOKEN: SECRETS.httpToken,
    LOG_FORMAT: 'json',
  };
}

interface Run {
  child: ReturnType<typeof spawn>;
  /** stdout and stderr so far, in one. */
  output(): string;
  exited: Promise<number | string>;
}

function streamserve(args: string[], env: Record<string, string>): Run {
  const child = spawn(process.execPath, [...shippedNodeFlags(), BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

async function finished(run: Run, timeoutMs: number, what: string): Promise<number | string> {
  try {
    return await withTimeout(run.exited, timeoutMs, what);
  } catch (err) {
    run.child.kill('SIGKILL');
    await run.exited;
    throw new Error(`${String(err)}; output tail:\n${run.output().slice(-4000)}`);
  }
}

/** Where each secret shows up in `text` (with a little context), for a failure message. */
function leaks(text: string): string[] {
  return ALL.flatMap((secret) => {
    const at = text.indexOf(secret);
    return at < 0 ? [] : [`${secret}: …${text.slice(Math.max(0, at - 120), at + secret.length + 40)}…`];
  });
}

test('the test sets every secret setting', () => {
  assert.deepEqual(settingNames.filter((n) => 'secret' in settings[n]).sort(), Object.keys(SECRETS).sort());
});

test('no secret in anything run, a failed start, a config error or demo writes, nor in /status, /readyz and /metrics; the marker where they were', async (t) => {
  const topics = testTopics('redaction');
  await createTestTopics(topics, 2, t);
  const client = new RegistryClient({ urls: [registry.url], timeoutMs: 10_000 });
  t.after(() => client.close());
  const schema = JSON.parse(readFileSync('schemas/borehole-input.avsc', 'utf8')) as avro.Schema;
  const id = await client.register(`${topics.input}-value`, JSON.stringify(schema));
  const type = avro.Type.forSchema(schema);
  const inputs = sampleBoreholeInputs(COUNT, 3).map((x, i) => ({ key: `r-${i}`, value: Buffer.concat([frameHeader(id), type.toBuffer({ id: `r-${i}`, event_time: Date.now(), ...x })]) }));
  inputs.push({ key: 'poison', value: Buffer.from('not framed') }); // a dead letter, with its error message
  await publish(testBrokers(), topics.input, inputs, 100);

  const registryUrl = credentialedUrl(registry.url);
  const adminPort = await freePort();
  const httpPort = await freePort();
  const env = {
    ...secretEnv(registryUrl),
    INPUT_TOPIC: topics.input,
    OUTPUT_TOPIC: topics.output,
    DLQ_TOPIC: topics.dlq,
    GROUP_ID: topics.group,
    ADMIN_PORT: String(adminPort),
    HTTP_PORT: String(httpPort),
    WIRE_FORMAT: 'confluent',
    OUTPUT_WIRE_FORMAT: 'confluent',
    LOG_LEVEL: 'debug',
  };
  const texts: Record<string, string> = {};

  // 1. `run`: scores everything, answers HTTP, stops on SIGTERM.
  const run = streamserve(['run'], env);
  t.after(() => run.child.kill('SIGKILL'));
  const died = () => (run.child.exitCode !== null ? `run exited (${run.child.exitCode}):\n${run.output().slice(-4000)}` : undefined);
  const admin = (path: string) => fetch(`http://127.0.0.1:${adminPort}${path}`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text());
  await poll(
    async () => {
      const status = JSON.parse(await admin('/status')) as { counts: { predictions: number; deadLetters: number } };
      return status.counts.predictions + status.counts.deadLetters === COUNT + 1;
    },
    { message: 'run scored every input', timeoutMs: 120_000, intervalMs: 200, abort: died },
  );
  const predict = (authorization?: string) =>
    fetch(`http://127.0.0.1:${httpPort}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify([{ id: 'h1', ...sampleBoreholeInputs(1, 9)[0] }]),
      signal: AbortSignal.timeout(5000),
    });
  assert.equal((await predict(`Bearer ${SECRETS.httpToken}`)).status, 200, 'the token works');
  const refused = await predict('Bearer wrong-token');
  texts['POST /predict (wrong token)'] = await refused.text();
  assert.equal(refused.status, 401);
  texts['/status'] = await admin('/status');
  texts['/readyz'] = await admin('/readyz');
  texts['/metrics'] = await admin('/metrics');
  assert.ok(texts['/metrics'].includes('streamserve_predictions_total'), 'a real /metrics body');
  run.child.kill('SIGTERM');
  assert.equal(await finished(run, 60_000, 'run exit after SIGTERM'), 0, run.output().slice(-4000));
  texts.run = run.output();

  // 2. A `run` whose registry is not there: the startup failure names its URL.
  const closed = new URL(registry.url);
  closed.port = String(await freePort());
  const failedStart = streamserve(['run'], { ...env, SCHEMA_REGISTRY_URL: credentialedUrl(closed.toString()), ADMIN_PORT: '0', HTTP_PORT: '0', SCHEMA_REGISTRY_TIMEOUT_MS: '1000' });
  assert.equal(await finished(failedStart, 60_000, 'run exit without its registry'), 1, failedStart.output().slice(-4000));
  texts['run, no registry'] = failedStart.output();
  assert.match(texts['run, no registry'], /REGISTRY_UNAVAILABLE/);

  // 3. A registry URL that is not valid: the config error quotes the value.
  const badUrl = credentialedUrl(registry.url).replace(/^http/, 'ftp');
  const badConfig = streamserve(['run'], { ...env, SCHEMA_REGISTRY_URL: badUrl });
  assert.equal(await finished(badConfig, 30_000, 'run exit on a bad config'), 2, badConfig.output());
  texts['run, bad config'] = badConfig.output();
  assert.ok(texts['run, bad config'].includes(`schemaRegistryUrl (SCHEMA_REGISTRY_URL / --schema-registry-url)`), texts['run, bad config']);

  // 4. `demo`, which prints the command that reads its predictions back.
  const demo = streamserve(['demo', '--count', '300', '--partitions', '1', '--wire-format', 'confluent'], { ...secretEnv(registryUrl), ADMIN_PORT: '0' });
  t.after(() => demo.child.kill('SIGKILL'));
  const demoCode = await finished(demo, 180_000, 'demo exit');
  texts.demo = demo.output();
  const demoTopics = [...texts.demo.matchAll(/\b(demo-[0-9a-f]{6}-(?:inputs|predictions|dead-letters))\b/g)].map((m) => m[1]!);
  t.after(() => deleteTopics([...new Set(demoTopics)]));
  assert.equal(demoCode, 0, texts.demo.slice(-4000));
  assert.match(texts.demo, /Read them yourself: .*SCHEMA_REGISTRY_URL=/);

  for (const [what, text] of Object.entries(texts)) assert.deepEqual(leaks(text), [], `a secret in ${what}`);
  // The marker stands where the secrets were: the config as logged, the registry URL in errors and printed commands.
  const shownUrl = `://${REDACTED}@${new URL(registry.url).host}`;
  assert.ok(texts.run.includes(`"schemaRegistryPassword":"${REDACTED}"`) && texts.run.includes(`"httpToken":"${REDACTED}"`) && texts.run.includes(`"saslPassword":"${REDACTED}"`), 'secret settings in the startup log');
  assert.ok(texts.run.includes(shownUrl) && texts.run.includes(`token=${REDACTED}`), 'the registry URL in the startup log');
  assert.ok(texts['run, bad config'].includes(`ftp${shownUrl}`), texts['run, bad config']);
  assert.ok(texts.demo.includes(`SCHEMA_REGISTRY_URL=http${shownUrl}`) && texts.demo.includes(`token=${REDACTED}`), 'the command demo prints');
});

async function deleteTopics(topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const admin = createKafka(testBrokers()).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => {});
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}
