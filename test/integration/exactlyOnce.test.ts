import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { Header } from '../../src/kafka/headers.js';
import { createKafka, headerString, readAll, waitFor } from '../support/kafka.js';
import { getJson, testBrokers, testConfig, testLogger, testTopics, createTestTopics, publishDemoInputs } from './support/app.js';

interface Status {
  guarantee: string;
  counts: { predictions: number; deadLetters: number };
  assignments: { lag: number | null }[];
}

test('exactly-once: outcomes and offsets commit together; read_committed sees each input once; restart adds nothing', async () => {
  const TOTAL = 6_000;
  const topics = testTopics('eos');
  const config = testConfig(topics, { guarantee: 'exactly-once' });
  const logger = testLogger(config);
  await createTestTopics(topics, 3, { after });
  const inputs = await publishDemoInputs(config, TOTAL, { seed: 21, poisonEvery: 100, prefix: 'eos' });

  const runUntilCaughtUp = async () => {
    const app = new App({ config, logger });
    try {
      await app.start();
      const port = app.adminPort!;
      return await waitFor(
        async () => {
          const { body } = await getJson<Status>(port, '/status');
          return body.assignments.length === 3 && body.assignments.every((a) => a.lag === 0) ? body : null;
        },
        { timeoutMs: 120_000, intervalMs: 100, message: 'exactly-once instance caught up' },
      );
    } finally {
      assert.equal(await app.stop(), 0);
    }
  };
  const first = await runUntilCaughtUp();
  assert.equal(first.guarantee, 'exactly-once');
  assert.equal(first.counts.predictions + first.counts.deadLetters, TOTAL);
  const second = await runUntilCaughtUp();
  assert.equal(second.counts.predictions + second.counts.deadLetters, 0, 'a restart finds every offset committed');

  const predictions = await readAll(testBrokers(), topics.output, { timeoutMs: 60_000 });
  const dead = await readAll(testBrokers(), topics.dlq, { timeoutMs: 60_000 });
  // Both topics are read to their end, so a repeat beyond these counts would be read too.
  assert.equal(predictions.length, inputs.valid.size, 'one prediction per valid input');
  assert.equal(dead.length, inputs.poison.size, 'one dead letter per poison input');
  const ids = [...predictions, ...dead].map((m) => m.key!.toString());
  assert.equal(ids.length, TOTAL);
  assert.equal(new Set(ids).size, TOTAL, 'no input has two outcomes');
  for (const m of predictions) assert.ok(inputs.valid.has(m.key!.toString()), `prediction for an unknown or poison id ${m.key}`);
  for (const m of predictions) assert.ok(headerString(m.headers, Header.sourceOffset) !== undefined);

  // The group's committed offsets are the ends of the input partitions.
  const admin = createKafka(testBrokers()).admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topics.input);
    const [committed] = await admin.fetchOffsets({ groupId: topics.group, topics: [topics.input] });
    for (const e of ends) assert.equal(committed!.partitions.find((p) => p.partition === e.partition)!.offset, e.high);
  } finally {
    await admin.disconnect();
  }
});
