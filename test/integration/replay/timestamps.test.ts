import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import { createKafka as createAppKafka } from '../../../src/kafka/client.js';
import { InputProducer } from '../../../src/kafka/inputProducer.js';
import { demoInputs, type DemoInputs } from '../../../src/demo/demoInputs.js';
import { ReplayJob } from '../../../src/replay/job.js';
import { createTopics } from '../../support/kafka.js';
import { testBrokers, testConfig, testLogger } from '../support/app.js';
import { assertOutcomes, createReplayTopics, messageCount, readOutcomes, replayTopics } from './support.js';

const OLD = 3_000;
const NEW = 2_000;

test('replay by timestamp: from T takes exactly the records at or after T; until T exactly those before it', async () => {
  const topics = replayTopics('replay-ts');
  const untilTarget = `${topics.target}-until`;
  await createReplayTopics(topics, 3, { after });
  await createTopics(testBrokers(), [{ topic: untilTarget, partitions: 3 }], { after });
  const config = testConfig(topics);
  const logger = testLogger(config);
  const type = await loadAvroSchema(config.inputSchema);
  const outputType = await loadAvroSchema(config.outputSchema);

  // Two batches with distinct, explicit timestamps; every 10th valid input of the second one has no key.
  const t0 = Date.now() - 2 * 3_600_000;
  const t1 = t0 + 3_600_000;
  const old = demoInputs(type, OLD, { seed: 41, poisonEvery: 50, prefix: 'old' });
  const recent = demoInputs(type, NEW, { seed: 42, poisonEvery: 50, prefix: 'new' });
  const keyless = new Set<string>();
  recent.messages.forEach((m, i) => {
    const id = m.key as string;
    if (i % 10 === 3 && recent.valid.has(id)) {
      keyless.add(id);
      m.key = null;
    }
  });
  const producer = new InputProducer(createAppKafka({ ...config, brokers: testBrokers() }, logger), config.inputTopic);
  await producer.start();
  try {
    await producer.send(old.messages.map((m) => ({ ...m, timestamp: String(t0) })));
    await producer.send(recent.messages.map((m) => ({ ...m, timestamp: String(t1) })));
  } finally {
    await producer.close();
  }

  const replay = async (toTopic: string, range: ConstructorParameters<typeof ReplayJob>[0]['args']['range'], expected: DemoInputs) => {
    const job = new ReplayJob({ config, logger, args: { toTopic, range } });
    const prepared = await job.prepare();
    const result = await job.run(prepared);
    assert.equal(result.outcome, 'complete');
    assert.equal(result.status.total, expected.messages.length, 'the plan spans exactly the batch');
    assert.equal(result.counts!.predictions + result.counts!.deadLetters, expected.messages.length);
    return prepared.group;
  };

  const fromGroup = await replay(topics.target, { start: { from: 'timestamp', ms: t1 }, end: { until: 'end' } }, recent);
  const fromOutcomes = await readOutcomes(topics);
  assertOutcomes(outputType, recent, fromOutcomes, fromGroup, { keylessIds: keyless });
  assert.equal(await messageCount(topics.target), recent.valid.size);
  assert.equal(await messageCount(topics.dlq), recent.poison.size);
  assert.ok(keyless.size > 100);

  const untilGroup = await replay(untilTarget, { start: { from: 'beginning' }, end: { until: 'timestamp', ms: t1 } }, old);
  assert.notEqual(untilGroup, fromGroup, 'another range is another replay');
  const untilOutcomes = await readOutcomes({ ...topics, target: untilTarget });
  assertOutcomes(outputType, old, { predictions: untilOutcomes.predictions, deadLetters: untilOutcomes.deadLetters.filter((m) => m.key?.toString().startsWith('old-')) }, untilGroup);
  assert.equal(await messageCount(untilTarget), old.valid.size);
  assert.equal(await messageCount(topics.dlq), recent.poison.size + old.poison.size);
});
