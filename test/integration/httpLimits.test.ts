/**
 * Overload and failure over HTTP are answered, not queued forever (`serve`'s composition in process, the real model
 * behind a gate the test opens): 429 with Retry-After past HTTP_MAX_QUEUE, 504 at the deadline (and the caller's
 * shorter one), a caller that disconnects takes its rows out of the queue, 503 while the model is unavailable, and a
 * stop answers the requests in flight while refusing new ones.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { ModelRuntime, RuntimeLoader } from '../../src/model/model.js';
import { loadRuntime } from '../../src/model/runtimes.js';
import { sampleBoreholeInputs } from '../../src/model/borehole.js';
import { waitFor } from '../support/kafka.js';
import { ControlledModel } from '../fault/support/controlledModel.js';
import { getJson, getText, metricValue, testLogger } from './support/app.js';

/** The real model behind a gate: while closed, every call waits until it opens; while `failing`, calls fail. */
class GatedModel extends ControlledModel {
  held = 0;
  failing = false;
  #open = true;
  #waiters: (() => void)[] = [];

  constructor(inner: ModelRuntime) {
    super(inner);
    this.setFault({ call: (rows, count) => this.#call(rows, count) });
  }
  hold(): void {
    this.#open = false;
  }
  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w();
  }
  override close(): Promise<void> {
    this.open();
    return super.close();
  }
  async #call(rows: Float32Array, count: number): Promise<Float32Array> {
    if (!this.#open) {
      this.held++;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      this.held--;
    }
    if (this.failing) throw new Error('test model: fails every row');
    return this.inner.predict(rows, count);
  }
}

let app: App | null = null;
afterEach(async () => {
  await app?.stop();
  app = null;
});

async function serve(flags: Record<string, string> = {}): Promise<{ model: GatedModel; port: number; adminPort: number }> {
  const config = loadConfig({
    env: {},
    flags: { 'http-port': '0', 'admin-port': '0', 'inference-thread': 'main', 'log-level': process.env.TEST_LOG_LEVEL ?? 'warn', 'log-format': 'json', ...flags },
  });
  let model: GatedModel | null = null;
  const loadModel: RuntimeLoader = async (options) => (model = new GatedModel(await loadRuntime(options)));
  app = new App({ config, logger: testLogger(config), loadModel, inputs: { kafka: false, http: true } });
  await app.start();
  return { model: model!, port: app.httpPort!, adminPort: app.adminPort! };
}

const rows = (n: number, seed = 1) => sampleBoreholeInputs(n, seed);

function predict(port: number, body: unknown, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}) {
  return fetch(`http://127.0.0.1:${port}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
    ...(init.signal ? { signal: init.signal } : {}),
  });
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe('HTTP under overload and failure', () => {
  test('past HTTP_MAX_QUEUE waiting rows: 429 at once with Retry-After; the queued requests are answered once the model moves', async () => {
    const { model, port, adminPort } = await serve({ 'http-max-queue': '8', 'max-batch-size': '4' });
    model.hold();
    const queued = predict(port, rows(8));
    await waitFor(() => model.held === 1, { message: 'the first model call held' });
    const started = Date.now();
    const refused = await predict(port, rows(1, 2));
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(await errorCode(refused), 'OVERLOADED');
    assert.ok(Date.now() - started < 2000, 'refused at once, not queued');
    model.open();
    const answer = await queued;
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as unknown[]).length, 8);
    const metrics = await getText(adminPort, '/metrics');
    assert.equal(metricValue(metrics, 'streamserve_http_shed_total', 'reason="overloaded"'), 1);
    assert.equal(metricValue(metrics, 'streamserve_http_requests_total', 'status="429"'), 1);
  });

  test('a request past its deadline: 504 (HTTP_TIMEOUT_MS, or the shorter X-Streamserve-Timeout-Ms)', async () => {
    const { model, port } = await serve({ 'http-timeout-ms': '400' });
    model.hold();
    let started = Date.now();
    const byServer = await predict(port, rows(1));
    assert.equal(byServer.status, 504);
    assert.equal(await errorCode(byServer), 'DEADLINE_EXCEEDED');
    assert.ok(Date.now() - started >= 350, 'not before the deadline');
    started = Date.now();
    const byCaller = await predict(port, rows(1), { headers: { 'x-streamserve-timeout-ms': '50' } });
    assert.equal(byCaller.status, 504);
    assert.ok(Date.now() - started < 350, `the caller's shorter deadline (${Date.now() - started} ms)`);
    model.open();
    assert.equal((await predict(port, rows(1))).status, 200);
  });

  test('a caller that disconnects takes its unscored rows out of the queue: the model never sees them', async () => {
    const { model, port, adminPort } = await serve({ 'max-batch-size': '4' });
    model.hold();
    const first = predict(port, rows(2)); // in the held model call
    await waitFor(() => model.held === 1, { message: 'the first model call held' });
    const caller = new AbortController();
    const leaving = predict(port, rows(3, 3), { signal: caller.signal }).catch((err: unknown) => err);
    await waitFor(async () => (await getJson<{ http: { inFlight: number } }>(adminPort, '/status')).body.http.inFlight === 2, { message: 'the second request queued' });
    caller.abort();
    assert.equal((await leaving as Error).name, 'AbortError');
    await waitFor(async () => metricValue(await getText(adminPort, '/metrics'), 'streamserve_http_shed_total', 'reason="cancelled"') === 1, { message: 'the cancellation seen' });
    model.open();
    assert.equal((await first).status, 200);
    assert.equal(((await (await predict(port, rows(1, 4))).json()) as { flow_rate: number }[]).length ?? 1, 1);
    assert.equal(model.rowsScored, 2 + 1, 'the rows of the caller that left were never scored');
    assert.equal(metricValue(await getText(adminPort, '/metrics'), 'streamserve_http_queued_rows'), 0);
  });

  test('while the model is unavailable: 503 on /readyz (modelHealthy), on the model ready route and on infer; it recovers by itself', async () => {
    const { model, port, adminPort } = await serve({ 'http-timeout-ms': '60000' });
    model.failing = true;
    const first = predict(port, rows(1)); // finds the model failing the known-good row too
    await waitFor(async () => (await getJson(adminPort, '/readyz')).status === 503, { message: '/readyz 503' });
    const ready = await getJson<{ checks: Record<string, boolean> }>(adminPort, '/readyz');
    assert.equal(ready.body.checks.modelHealthy, false);
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/models/borehole/ready`)).status, 503);
    const refused = await predict(port, rows(1, 2));
    assert.equal(refused.status, 503);
    assert.equal(await errorCode(refused), 'MODEL_UNAVAILABLE');
    model.failing = false;
    assert.equal((await first).status, 200, 'the request that came first is answered once the model works again');
    await waitFor(async () => (await getJson(adminPort, '/readyz')).status === 200, { message: '/readyz 200 again' });
    assert.equal((await predict(port, rows(1, 3))).status, 200);
  });

  test('stop: requests in flight are answered, new ones get 503, then it stops cleanly', async () => {
    const { model, port } = await serve();
    model.hold();
    const inFlight = predict(port, rows(2));
    await waitFor(() => model.held === 1, { message: 'the request in its model call' });
    const stopping = app!.stop();
    const late = await predict(port, rows(1, 2)).catch((err: unknown) => err);
    // Refused with 503 while the server still listens; once it has closed, the connection itself is refused.
    if (late instanceof Response) assert.equal(late.status, 503);
    else assert.match(String((late as { cause?: unknown }).cause ?? late), /ECONNREFUSED|other side closed|ECONNRESET/);
    model.open();
    const answer = await inFlight;
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as unknown[]).length, 2);
    assert.equal(await stopping, 0);
    app = null;
  });
});
