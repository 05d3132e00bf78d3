import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import { InputProducer } from '../../../src/kafka/inputProducer.js';
import { createKafka as createAppKafka } from '../../../src/kafka/client.js';
import { demoInputs } from '../../../src/demo/demoInputs.js';
import { createLogger } from '../../../src/logger.js';
import { createTopics, readAll, waitFor } from '../../support/kafka.js';
import { getJson, getText, metricValue, testBrokers, testTopics } from '../support/app.js';
import { freePort, startCli } from '../support/process.js';

interface Status {
  state: string;
  counts: { recordsIn: number; predictions: number; deadLetters: number };
  assignments: { partition: number; lag: number | null }[];
}

describe('streamserve run as a process', () => {
  test('SIGTERM mid-stream drains and exits 0; a restart finishes the rest; nothing lost, nothing repeated', async () => {
    const TOTAL = 30_000;
    const topics = testTopics('sigterm');
    await createTopics(testBrokers(), [
      { topic: topics.input, partitions: 3 },
      { topic: topics.output, partitions: 3 },
      { topic: topics.dlq, partitions: 1 },
    ], { after });
    const logger = createLogger({ level: 'warn', format: 'json' });
    const type = await loadAvroSchema('schemas/borehole-input.avsc');
    const inputs = demoInputs(type, TOTAL, { seed: 5, poisonEvery: 100, prefix: 'sig' });
    const producer = new InputProducer(createAppKafka({ clientId: 'test', ssl: false, saslMechanism: undefined, saslUsername: undefined, saslPassword: undefined, brokers: testBrokers() }, logger), topics.input);
    await producer.start();
    await producer.send(inputs.messages);
    await producer.close();

    const env = async () => ({
      KAFKA_BROKERS: testBrokers().join(','),
      INPUT_TOPIC: topics.input,
      OUTPUT_TOPIC: topics.output,
      DLQ_TOPIC: topics.dlq,
      GROUP_ID: topics.group,
      ADMIN_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      // small batches so the stream is still running when the signal arrives
      MAX_BATCH_SIZE: '32',
      SHUTDOWN_TIMEOUT_MS: '20000',
    });

    const firstEnv = await env();
    const first = startCli(['run'], firstEnv);
    const port1 = Number(firstEnv.ADMIN_PORT);
    const firstDone = await waitFor(
      async () => {
        const { body } = await getJson<Status>(port1, '/status');
        const done = body.counts.predictions + body.counts.deadLetters;
        return done >= 2_000 ? done : 0;
      },
      { timeoutMs: 90_000, intervalMs: 20, message: 'first instance scored 2,000 records' },
    );
    assert.ok(firstDone < TOTAL, 'the signal must arrive mid-stream');
    first.child.kill('SIGTERM');
    const code1 = await first.exitWithin(30_000, 'first instance exit');
    assert.equal(code1, 0, `exit code after SIGTERM; stderr:\n${first.stderr().slice(-3000)}`);
    assert.match(first.stderr(), /"msg":"stopped"/);
    assert.doesNotMatch(first.stderr(), /after finishing \(open:/, 'a clean stop closes every handle itself');

    const secondEnv = await env();
    const second = startCli(['run'], secondEnv);
    const port2 = Number(secondEnv.ADMIN_PORT);
    const finalStatus = await waitFor(
      async () => {
        const { body } = await getJson<Status>(port2, '/status');
        return body.assignments.length === 3 && body.assignments.every((a) => a.lag === 0) ? body : null;
      },
      { timeoutMs: 120_000, intervalMs: 200, message: 'second instance caught up (lag 0 on every partition)' },
    );
    const metrics = await getText(port2, '/metrics');
    second.child.kill('SIGTERM');
    assert.equal(await second.exitWithin(30_000, 'second instance exit'), 0, second.stderr().slice(-3000));

    const predictions = await readAll(testBrokers(), topics.output, { timeoutMs: 60_000 });
    const dead = await readAll(testBrokers(), topics.dlq, { timeoutMs: 60_000 });
    const outcomeIds = [...predictions, ...dead].map((m) => m.key!.toString());
    const seen = new Set(outcomeIds);
    const lost = inputs.messages.filter((m) => !seen.has(m.key as string)).length;
    assert.equal(lost, 0, 'inputs without an outcome');
    assert.equal(outcomeIds.length - seen.size, 0, 'a graceful stop commits everything it wrote: no repeats');
    assert.equal(predictions.length, inputs.valid.size);
    assert.equal(dead.length, inputs.poison.size);

    // The second instance's counts are exactly what the first one left.
    assert.equal(finalStatus.counts.recordsIn, TOTAL - firstDoneCommitted(first.stderr()));
    assert.equal(metricValue(metrics, 'streamserve_predictions_total'), finalStatus.counts.predictions);
  });

  test('bad configuration exits non-zero naming every bad setting', async () => {
    const cli = startCli(['run', '--admin-port', '70000'], {
      KAFKA_BROKERS: 'not a broker',
      MAX_BATCH_SIZE: 'abc',
      BACKEND: 'gpu',
      INPUT_TOPIC: 'same',
      OUTPUT_TOPIC: 'same',
    });
    const code = await cli.exitWithin(30_000, 'exit');
    assert.equal(code, 2);
    const err = cli.stderr();
    assert.match(err, /CONFIG_INVALID/);
    for (const name of ['KAFKA_BROKERS', 'MAX_BATCH_SIZE', 'BACKEND', '--admin-port', 'OUTPUT_TOPIC']) {
      assert.ok(err.includes(name), `message names ${name}:\n${err}`);
    }
  });

  test('missing topics stop startup with a message naming them', async () => {
    const topics = testTopics('missing');
    const cli = startCli(['run'], {
      KAFKA_BROKERS: testBrokers().join(','),
      INPUT_TOPIC: topics.input,
      OUTPUT_TOPIC: topics.output,
      DLQ_TOPIC: topics.dlq,
      ADMIN_PORT: String(await freePort()),
    });
    assert.equal(await cli.exitWithin(60_000, 'exit'), 1);
    assert.match(cli.stderr(), /TOPIC_NOT_FOUND/);
    for (const t of [topics.input, topics.output, topics.dlq]) assert.ok(cli.stderr().includes(t), `names ${t}`);
  });

  test('a missing broker list is named', async () => {
    const cli = startCli(['run'], {});
    assert.equal(await cli.exitWithin(30_000, 'exit'), 2);
    assert.match(cli.stderr(), /KAFKA_BROKERS.*required by `run`/);
  });
});

/** Records the first instance acknowledged and committed, from its final "stopped" log line. */
function firstDoneCommitted(stderr: string): number {
  const line = stderr.split('\n').find((l) => l.includes('"msg":"stopped"'));
  assert.ok(line, 'first instance logged its final counts');
  const parsed = JSON.parse(line) as { recordsIn: number; clean: boolean };
  assert.equal(parsed.clean, true);
  return parsed.recordsIn;
}
