/**
 * `streamserve serve` as a process, the Flask service's replacement: HTTP only, no broker at all (no KAFKA_BROKERS,
 * nothing listening on Kafka's port), the same admin server; SIGTERM with requests in flight answers them and exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { borehole, sampleBoreholeInputs } from '../../../src/model/borehole.js';
import { waitFor } from '../../support/kafka.js';
import { getJson, getText, metricValue } from '../support/app.js';
import { freePort, startCli } from '../support/process.js';

test('serve: /predict with no broker; /readyz checks only the model and the port; SIGTERM answers requests in flight, exit 0', async (t) => {
  const [port, adminPort] = [await freePort(), await freePort()];
  const cli = startCli(['serve'], { HTTP_PORT: String(port), ADMIN_PORT: String(adminPort), LOG_LEVEL: 'info', HTTP_MAX_QUEUE: '200000' });
  t.after(() => cli.child.kill('SIGKILL'));
  await waitFor(async () => (await getJson(adminPort, '/readyz')).status === 200, { message: 'serve ready', timeoutMs: 60_000 });
  const ready = await getJson<{ checks: Record<string, boolean> }>(adminPort, '/readyz');
  assert.deepEqual(Object.keys(ready.body.checks).sort(), ['httpListening', 'modelHealthy', 'modelWarm', 'running']);
  const status = await getJson<{ http: { port: number }; runtime: string }>(adminPort, '/status');
  assert.equal(status.body.http.port, port);

  const inputs = sampleBoreholeInputs(500, 21);
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const res = await post(inputs.slice(0, 10));
  assert.equal(res.status, 200);
  const values = (await res.json()) as { flow_rate: number }[];
  values.forEach((v, i) => assert.ok(Math.abs(v.flow_rate - borehole(inputs[i]!)) / borehole(inputs[i]!) < 0.05, `row ${i}`));

  // Many requests in flight, then SIGTERM: each is answered with its predictions (200) or refused (503), none dropped.
  // 100 requests of 1,000 rows each: seconds of work for the model, so the signal comes while most are in flight.
  const big = sampleBoreholeInputs(1000, 22);
  const inFlight = Array.from({ length: 100 }, () =>
    post(big).then(
      async (r) => ({ status: r.status, body: (await r.json()) as unknown, at: Date.now() }),
      (err: unknown) => ({ status: 0, body: String(err) as unknown, at: Date.now() }),
    ),
  );
  await waitFor(async () => (metricValue(await getText(adminPort, '/metrics'), 'streamserve_http_requests_total', 'route="/predict",status="200"') ?? 0) > 5, {
    message: 'requests being answered',
  });
  const signalAt = Date.now();
  cli.child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  const byStatus = new Map<number, number>();
  for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
  assert.ok((byStatus.get(200) ?? 0) > 5, `answered: ${JSON.stringify([...byStatus])}`);
  // A request admitted before the signal is answered in full; one after it is refused (503), or finds the port closed.
  for (const a of answers) {
    if (a.status === 200) {
      const entries = a.body as { flow_rate?: number; error?: { code: string } }[];
      assert.equal(entries.length, 1000);
      assert.deepEqual(entries.filter((e) => typeof e.flow_rate !== 'number').slice(0, 1), [], 'every row predicted');
    }
    else assert.ok(a.status === 503 || a.status === 0, `status ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`);
  }
  assert.equal(await cli.exitWithin(30_000, 'serve exit after SIGTERM'), 0, cli.stderr().slice(-3000));
  const afterSignal = answers.filter((a) => a.status === 200 && a.at > signalAt).length;
  assert.ok(afterSignal > 0, `requests in flight when the signal came were answered (${JSON.stringify([...byStatus])})`);
  assert.doesNotMatch(cli.stderr(), /"component":"kafkajs"|BROKER_UNAVAILABLE/, 'no broker was ever contacted');
});
