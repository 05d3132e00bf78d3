/**
 * Synchronous inference over HTTP with a real broker running (`run` with HTTP_PORT): `POST /predict` against the
 * borehole function, per-row errors and malformed bodies; the Open Inference Protocol through Triton's own Python
 * client; HTTP answered while a Kafka backlog drains through the same model calls, every Kafka input still scored once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { borehole, sampleBoreholeInputs, type BoreholeInput } from '../../src/model/borehole.js';
import { Header } from '../../src/kafka/headers.js';
import { headerString, readAll, waitFor } from '../support/kafka.js';
import { pythonWith, runPython } from '../support/python.js';
import { createTestTopics, getJson, getText, metricValue, publishDemoInputs, testBrokers, testConfig, testLogger, testTopics, type TestTopics } from './support/app.js';

const TOKEN = 'test-token-1';

/** POSTs JSON (or a raw string) to the inference port; the status, the parsed answer and the headers. */
async function post(port: number, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown), headers: res.headers };
}

/** Within the trained model's accuracy of the borehole function (its held-out error is well under this). */
function assertNearTruth(input: BoreholeInput, predicted: unknown, what: string): void {
  const truth = borehole(input);
  assert.equal(typeof predicted, 'number', what);
  assert.ok(Math.abs((predicted as number) - truth) / truth < 0.05, `${what}: ${String(predicted)} vs the borehole function's ${truth}`);
}

describe('run with HTTP_PORT: Kafka and HTTP through one model', () => {
  let topics: TestTopics;
  let app: App;
  let port: number;

  const cleanups: (() => Promise<void>)[] = [];

  before(async () => {
    topics = testTopics('http');
    await createTestTopics(topics, 3, { after: (fn) => cleanups.push(fn) });
    const config = testConfig(topics, { 'http-port': '0', 'http-token': TOKEN, 'max-batch-size': '256' });
    app = new App({ config, logger: testLogger(config) });
    await app.start();
    port = app.httpPort!;
  });
  after(async () => {
    assert.equal(await app.stop(), 0);
    for (const cleanup of cleanups) await cleanup();
  });

  test('POST /predict: one input → its prediction; a list → one entry per input, in order, values of the borehole function', async () => {
    const [input] = sampleBoreholeInputs(1, 11);
    const one = await post(port, '/predict', { id: 'one', ...input });
    assert.equal(one.status, 200);
    const answer = one.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(answer).sort(), ['event_time', 'flow_rate', 'id', 'model_name', 'model_version']);
    assert.deepEqual([answer.id, answer.model_name, answer.model_version], ['one', 'borehole', '1.0.0']);
    assertNearTruth(input!, answer.flow_rate, 'one input');

    const inputs = sampleBoreholeInputs(200, 12);
    const list = await post(port, '/predict', inputs.map((x, i) => ({ id: `in-${i}`, ...x })));
    assert.equal(list.status, 200);
    const entries = list.body as Record<string, unknown>[];
    assert.equal(entries.length, 200);
    entries.forEach((e, i) => {
      assert.equal(e.id, `in-${i}`, 'in order');
      assertNearTruth(inputs[i]!, e.flow_rate, `input ${i}`);
    });
  });

  test('per-row errors carry the codes a dead letter would; a single invalid input is a 422 with its code', async () => {
    const [good] = sampleBoreholeInputs(1, 13);
    const list = await post(port, '/predict', [
      { ...good, rw: 0.5 },
      { ...good, Tu: null },
      { ...good, L: '1400' },
      { ...good, tu: 89_335 },
      { ...good, id: 'fine' },
      7,
    ]);
    assert.equal(list.status, 200);
    const codes = (list.body as { error?: { code: string; stage: string }; id?: string }[]).map((e) => e.error?.code ?? e.id);
    assert.deepEqual(codes, ['OUT_OF_RANGE', 'MISSING_FIELD', 'WRONG_TYPE', 'UNKNOWN_FIELD', 'fine', 'WRONG_TYPE']);

    const single = await post(port, '/predict', { ...good, rw: 0.01 });
    assert.equal(single.status, 422);
    const { error } = single.body as { error: { code: string; stage: string; message: string } };
    assert.deepEqual([error.code, error.stage], ['OUT_OF_RANGE', 'validate']);
    assert.match(error.message, /rw/);
  });

  test('malformed requests: 400 saying what is wrong, 415 for another content type, 404, 401 without the token', async () => {
    const notJson = await post(port, '/predict', '{"rw": 0.1');
    assert.equal(notJson.status, 400);
    assert.equal((notJson.body as { error: { code: string } }).error.code, 'BAD_REQUEST');
    assert.match(JSON.stringify(notJson.body), /JSON/);
    const scalar = await post(port, '/predict', '3');
    assert.equal(scalar.status, 400);
    assert.match(JSON.stringify(scalar.body), /a JSON object \(one input\) or an array/);
    const form = await post(port, '/predict', 'rw=0.1', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    const badDeadline = await post(port, '/predict', {}, { 'x-streamserve-timeout-ms': 'soon' });
    assert.equal(badDeadline.status, 400);
    assert.match(JSON.stringify(badDeadline.body), /x-streamserve-timeout-ms must be a whole number/);
    assert.equal((await post(port, '/nope', {})).status, 404);
    const anonymous = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/health/live`)).status, 200, 'health checks need no token');
  });

  test("the Open Inference Protocol, checked by Triton's Python client: health, metadata, infer; binary data refused with a message", async () => {
    const python = await pythonWith('oip');
    // The client sends no Authorization header of its own: serve it through a second app without a token.
    const config = testConfig(topics, { 'http-port': '0', 'admin-port': '0' });
    const open = new App({ config, logger: testLogger(config), inputs: { kafka: false, http: true } });
    await open.start();
    try {
      const inputs = sampleBoreholeInputs(64, 14);
      const out = JSON.parse(await runPython(python, 'oip_client.py', [`127.0.0.1:${open.httpPort}`, 'borehole', JSON.stringify(inputs)])) as {
        live: boolean;
        ready: boolean;
        model_ready: boolean;
        model_ready_versioned: boolean;
        server: { name: string };
        metadata: { name: string; versions: string[]; platform: string; inputs: { name: string; datatype: string; shape: number[] }[]; outputs: { name: string }[] };
        infer: { model_name: string; model_version: string; id: string; outputs: Record<string, number[]> };
        infer_versioned: number[];
        binary_error: { status: string; message: string } | null;
        unknown_model_error: { status: string; message: string } | null;
      };
      assert.deepEqual([out.live, out.ready, out.model_ready, out.model_ready_versioned], [true, true, true, true]);
      assert.equal(out.server.name, 'streamserve');
      assert.deepEqual(out.metadata.inputs.map((i) => i.name), ['rw', 'r', 'Tu', 'Hu', 'Tl', 'Hl', 'L', 'Kw']);
      assert.deepEqual(out.metadata.inputs[0], { name: 'rw', datatype: 'FP64', shape: [-1] });
      assert.deepEqual(out.metadata.outputs.map((o) => o.name), ['flow_rate']);
      assert.deepEqual([out.metadata.name, out.metadata.versions, out.metadata.platform], ['borehole', ['1.0.0'], 'tfjs-wasm']);
      assert.deepEqual([out.infer.model_name, out.infer.model_version, out.infer.id], ['borehole', '1.0.0', 'oip-1']);
      assert.equal(out.infer.outputs.flow_rate!.length, 64);
      inputs.forEach((x, i) => assertNearTruth(x, out.infer.outputs.flow_rate![i], `OIP row ${i}`));
      assert.deepEqual(out.infer_versioned, out.infer.outputs.flow_rate);
      assert.equal(out.binary_error?.status, '400');
      assert.match(out.binary_error!.message, /binary tensor data .* is not supported: send JSON tensors/);
      assert.equal(out.unknown_model_error?.status, '404');
    } finally {
      assert.equal(await open.stop(), 0);
    }
  });

  test('OIP: a row that cannot be scored fails the request with a 400 naming the row and the code', async () => {
    const inputs = sampleBoreholeInputs(3, 15);
    const tensor = (name: keyof BoreholeInput, values: number[]) => ({ name, shape: [values.length], datatype: 'FP64', data: values });
    const body = {
      inputs: (['rw', 'r', 'Tu', 'Hu', 'Tl', 'Hl', 'L', 'Kw'] as const).map((f) => tensor(f, inputs.map((x, i) => (f === 'Kw' && i === 2 ? 1 : x[f])))),
    };
    const res = await post(port, '/v2/models/borehole/infer', body);
    assert.equal(res.status, 400);
    assert.match((res.body as { error: string }).error, /^BAD_REQUEST: row 2: OUT_OF_RANGE: field Kw/);
    const missing = await post(port, '/v2/models/borehole/infer', { inputs: body.inputs.slice(1) });
    assert.equal(missing.status, 400);
    assert.match((missing.body as { error: string }).error, /missing input tensor\(s\) rw/);
  });

  test('HTTP is answered while a Kafka backlog drains; model calls mix both; no HTTP row waits behind more than one Kafka call; the backlog holds few records in flight meanwhile; every Kafka input scored once', async () => {
    const BACKLOG = 100_000;
    const config = testConfig(topics);
    const status = async () => (await getJson<{ counts: { predictions: number; deadLetters: number; mixedModelCalls: number; maxCallsWaited: number } }>(app.adminPort!, '/status')).body.counts;
    const before = await status();
    // One request at a time, each checked, from before the backlog is published until it has drained.
    const answered: number[] = [];
    let draining = true;
    const requests = (async () => {
      for (let i = 0; draining; i++) {
        const inputs = sampleBoreholeInputs(1, 1000 + i);
        const t0 = performance.now();
        const res = await post(port, '/predict', { id: `during-${i}`, ...inputs[0] });
        answered.push(performance.now() - t0);
        assert.equal(res.status, 200);
        assertNearTruth(inputs[0]!, (res.body as { flow_rate: number }).flow_rate, `request ${i} during the backlog`);
      }
    })();
    await waitFor(() => answered.length > 0, { message: 'a first HTTP answer', timeoutMs: 30_000 });
    let maxInflight = 0;
    const sampler = setInterval(() => (maxInflight = Math.max(maxInflight, app.status().inflight)), 1);
    let sent: Awaited<ReturnType<typeof publishDemoInputs>>;
    let expected: number;
    try {
      sent = await publishDemoInputs(config, BACKLOG, { seed: 16, poisonEvery: 1000, prefix: 'backlog' });
      expected = sent.valid.size + sent.poison.size;
      const scored = (c: typeof before) => c.predictions + c.deadLetters - before.predictions - before.deadLetters;
      await waitFor(async () => scored(await status()) >= expected, { message: 'the backlog drained', timeoutMs: 300_000, intervalMs: 250 });
    } finally {
      clearInterval(sampler);
      draining = false;
      await requests;
    }
    // MAX_INFLIGHT_RECORDS_WHILE_HTTP (250), overshot by at most one fetch (3 partitions × 32 KiB, the fetch size
    // with HTTP_PORT set); MAX_INFLIGHT_RECORDS is 16,000.
    assert.ok(maxInflight <= 2000, `records in flight while HTTP requests came in: up to ${maxInflight}`);
    assert.ok(answered.length >= 5, `HTTP requests answered while the backlog drained (${answered.length})`);
    const counts = await status();
    assert.ok(counts.mixedModelCalls > 0, 'some model calls held Kafka and HTTP rows together');
    assert.ok(counts.maxCallsWaited <= 1, `an HTTP row waited behind ${counts.maxCallsWaited} model calls`);
    const metrics = await getText(app.adminPort!, '/metrics');
    assert.ok((metricValue(metrics, 'streamserve_model_calls_total', 'sources="kafka+http"') ?? 0) > 0);
    assert.equal(metricValue(metrics, 'streamserve_http_calls_waited_bucket', 'le="1"'), metricValue(metrics, 'streamserve_http_calls_waited_count'));

    // Every Kafka input has exactly one outcome.
    const seen = new Map<string, number>();
    await waitFor(
      async () => {
        seen.clear();
        for (const topic of [topics.output, topics.dlq]) {
          for (const m of await readAll(testBrokers(), topic)) {
            const id = m.key?.toString() ?? headerString(m.headers, Header.sourceOffset) ?? '?';
            seen.set(id, (seen.get(id) ?? 0) + 1);
          }
        }
        return seen.size >= expected;
      },
      { message: 'every backlog input has its outcome on the topics', timeoutMs: 60_000, intervalMs: 1000 },
    );
    const backlogIds = [...sent.valid.keys(), ...sent.poison.keys()];
    assert.deepEqual(backlogIds.filter((id) => seen.get(id) !== 1).slice(0, 5), [], 'each backlog input once');
  });
});
