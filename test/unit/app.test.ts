/**
 * The composition root on its own, with no broker: a stub input and a stub model are handed in, and the test checks
 * what an operator sees (readiness on /readyz, /status) and the stop order (docs/ARCHITECTURE.md, "Lifecycle").
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { App, type AppInput } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { KafkaInputParts } from '../../src/kafka/create.js';
import { StubModel, boreholeSignature, goodBorehole, silentLogger, waitFor } from './support.js';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ErrorCodes, StreamserveError } from '../../src/errors.js';

/** A logger whose JSON lines the test reads back. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  return { logger, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

class StubInput implements AppInput {
  readonly calls: string[] = [];
  readonly checksNow = { groupJoined: true, inputFetching: true, producerConnected: true, outputWritable: true };
  inflight = 0;
  paused = false;
  /** When set, drain() waits for this (a write that never completes). */
  drainGate: Promise<void> | null = null;
  parts: KafkaInputParts | null = null;

  async start(): Promise<void> {
    this.calls.push('start');
  }
  stopFetching(): void {
    this.calls.push('stopFetching');
  }
  async drain(): Promise<void> {
    this.calls.push('drain');
    if (this.drainGate) await this.drainGate;
    this.calls.push('drained');
  }
  abort(): void {
    this.calls.push('abort');
  }
  close(): Record<string, Promise<void>> {
    this.calls.push('close');
    return { 'stub input': Promise.resolve() };
  }
  checks(): Record<string, boolean> {
    return { ...this.checksNow };
  }
  status() {
    return [];
  }
}

async function startApp(flags: Record<string, string> = {}, options: { logger?: Logger; onFatal?: (err: Error) => void } = {}) {
  const config = loadConfig({ env: {}, flags: { brokers: 'no-broker:9092', 'admin-port': '0', 'log-level': 'silent', ...flags } });
  const input = new StubInput();
  const model = new StubModel({ signature: await boreholeSignature() });
  let modelClosed = false;
  model.close = async () => {
    modelClosed = true;
    input.calls.push('model closed');
  };
  const app = new App({
    config,
    logger: options.logger ?? silentLogger,
    ...(options.onFatal ? { onFatal: options.onFatal } : {}),
    loadModel: async () => model,
    createInput: async (parts) => {
      input.parts = parts;
      return input;
    },
  });
  await app.start();
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${app.adminPort}/readyz`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, boolean> } };
  };
  return { app, input, readyz, modelClosed: () => modelClosed };
}

describe('App (no broker)', () => {
  test('a confluent wire format without SCHEMA_REGISTRY_URL stops startup naming the setting', async () => {
    for (const flag of ['wire-format', 'output-wire-format']) {
      await assert.rejects(startApp({ [flag]: 'confluent' }), (err: unknown) => {
        assert.equal((err as { code?: string }).code, 'CONFIG_INVALID');
        assert.match((err as Error).message, /schemaRegistryUrl \(SCHEMA_REGISTRY_URL \/ --schema-registry-url\): required by `the confluent wire format`/);
        return true;
      });
    }
  });

  test('ready once started; /readyz names the input check that fails, and /status shows the runtime', async () => {
    const { app, input, readyz } = await startApp();
    try {
      assert.deepEqual(input.calls, ['start']);
      assert.equal(input.parts?.scorer.model.runtime, 'stub', 'the input is built around the scorer of the loaded model');
      assert.equal((await readyz()).status, 200);
      input.checksNow.outputWritable = false;
      const notReady = await readyz();
      assert.equal(notReady.status, 503);
      assert.equal(notReady.body.checks.outputWritable, false);
      assert.equal(notReady.body.checks.modelWarm, true);
      assert.equal(app.status().runtime, 'stub');
    } finally {
      await app.stop();
    }
  });

  test('stop is input first: stop fetching, drain, close the input, then the model; exit 0', async () => {
    const { app, input, modelClosed } = await startApp();
    const code = await app.stop();
    assert.equal(code, 0);
    assert.deepEqual(input.calls, ['start', 'stopFetching', 'drain', 'drained', 'close', 'model closed']);
    assert.ok(modelClosed());
    assert.equal(app.state, 'stopped');
    assert.equal(await app.stop(), 0, 'a second stop shares the first');
  });

  test('a drain that outlasts the shutdown deadline is aborted: exit 1, and everything still closes', async () => {
    const { app, input } = await startApp({ 'shutdown-timeout-ms': '300' });
    input.drainGate = new Promise(() => {});
    const code = await app.stop();
    assert.equal(code, 1);
    assert.deepEqual(input.calls, ['start', 'stopFetching', 'drain', 'abort', 'close', 'model closed']);
  });

  test('a fatal input failure: reported once, logged once under err with its code, 503 naming the check, then a stop input-first with exit 1', async () => {
    const { logger, lines } = capturingLogger();
    const reported: Error[] = [];
    const { app, input, readyz } = await startApp({}, { logger, onFatal: (err) => reported.push(err) });
    const refused = new StreamserveError(ErrorCodes.AUTHORIZATION_FAILED, 'not authorized to write topic "predictions" (TOPIC_AUTHORIZATION_FAILED)');
    input.checksNow.outputWritable = false;
    input.parts!.onFatal(refused);
    input.parts!.onFatal(new StreamserveError(ErrorCodes.AUTHORIZATION_FAILED, 'the same, from another partition'));
    assert.deepEqual(reported, [refused], 'the owner hears of it once');
    assert.equal(app.state, 'failed');
    const notReady = await readyz();
    assert.equal(notReady.status, 503);
    assert.equal(notReady.body.checks.running, false);
    assert.equal(notReady.body.checks.outputWritable, false, 'the failing check is named');
    let release = () => {};
    input.drainGate = new Promise((resolve) => (release = resolve));
    const stopping = app.stop();
    while (!input.calls.includes('drain')) await new Promise((resolve) => setImmediate(resolve));
    input.parts!.onFatal(new StreamserveError(ErrorCodes.AUTHORIZATION_FAILED, 'another, while draining'));
    release();
    const code = await stopping;
    assert.equal(code, 1, 'a failed app exits non-zero even when everything drained');
    assert.deepEqual(input.calls, ['start', 'stopFetching', 'drain', 'drained', 'close', 'model closed'], 'the graceful path: what was written is committed');
    input.parts!.onFatal(new StreamserveError(ErrorCodes.AUTHORIZATION_FAILED, 'after the stop'));
    const logged = lines().filter((l) => (l.err as { code?: string } | undefined)?.code === ErrorCodes.AUTHORIZATION_FAILED);
    assert.equal(logged.length, 1, 'logged once under err');
    assert.equal((logged[0]!.err as { message: string }).message, refused.message);
    assert.equal(app.state, 'failed');
  });

  test('a stop while the model fails everything does not wait for it: exit 1 at once, the unanswered input left uncommitted', async () => {
    const config = loadConfig({ env: {}, flags: { brokers: 'no-broker:9092', 'admin-port': '0', 'log-level': 'silent', 'shutdown-timeout-ms': '20000' } });
    const model = new StubModel({ signature: await boreholeSignature(), failsOn: () => true });
    const input = new StubInput();
    const app = new App({
      config,
      logger: silentLogger,
      loadModel: async () => model,
      createInput: async (parts) => {
        input.inflight = 1;
        parts.scorer.submit({ inputs: [{ id: 'a', event_time: 1, ...goodBorehole(1) }], done: () => void (input.inflight = 0) });
        return input;
      },
    });
    await app.start();
    await waitFor(() => !app.readiness().checks.modelHealthy, { what: 'the model to be seen failing' });
    const started = Date.now();
    assert.equal(await app.stop(), 1, 'not clean: an input never got its outcome');
    assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms, not at the 20 s deadline`);
    assert.equal(input.inflight, 1, 'the input never got an outcome (no dead letter)');
  });
});

