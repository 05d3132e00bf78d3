import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { loadAvroSchema } from '../../src/codec/schema.js';
import { Header } from '../../src/kafka/headers.js';
import { ErrorCodes } from '../../src/errors.js';
import { createKafka, createTopics, headerString, readAll, waitFor } from '../support/kafka.js';
import { encodeInput, goodBorehole } from '../unit/support.js';
import { getJson, testBrokers, testConfig, testLogger, testTopics } from './support/app.js';

const DLQ_LIMIT = 20_000;

test('an input whose dead letter would exceed the dead-letter topic’s max.message.bytes still gets one, without its value', async () => {
  const topics = testTopics('large-outcome');
  await createTopics(
    testBrokers(),
    [
      { topic: topics.input, partitions: 1 },
      { topic: topics.output, partitions: 1 },
      { topic: topics.dlq, partitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(DLQ_LIMIT) }] },
    ],
    { after },
  );
  const config = testConfig(topics);
  const inputType = await loadAvroSchema(config.inputSchema);
  const large = Buffer.alloc(DLQ_LIMIT - 50, 0xff); // undecodable, and with the failure headers over the limit
  const producer = createKafka(testBrokers()).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: topics.input,
      messages: [
        { key: 'a', value: encodeInput(inputType, 'a', goodBorehole(1)) },
        { key: 'large', value: large, headers: { trace: 'large-1' } },
        { key: 'small-poison', value: Buffer.from([0xff, 0xff]) },
        { key: 'b', value: encodeInput(inputType, 'b', goodBorehole(2)) },
      ],
    });
  } finally {
    await producer.disconnect();
  }

  const app = new App({ config, logger: testLogger(config) });
  after(() => app.stop());
  await app.start();
  await waitFor(
    async () => {
      const { body } = await getJson<{ assignments: { lag: number | null }[] }>(app.adminPort!, '/status');
      return body.assignments.length === 1 && body.assignments[0]!.lag === 0;
    },
    { timeoutMs: 60_000, message: 'all four inputs committed' },
  );

  const predictions = await readAll(testBrokers(), topics.output);
  assert.deepEqual(predictions.map((m) => m.key?.toString()), ['a', 'b'], 'the inputs around it are scored, in order');
  const deadLetters = await readAll(testBrokers(), topics.dlq);
  assert.equal(deadLetters.length, 2);
  const [dropped, kept] = deadLetters;
  assert.equal(dropped!.key?.toString(), 'large', 'the key stays');
  assert.equal(dropped!.value, null, 'the value is left out');
  assert.equal(headerString(dropped!.headers, Header.errorDropped), 'value');
  assert.equal(headerString(dropped!.headers, Header.errorCode), ErrorCodes.UNDECODABLE_VALUE);
  assert.equal(headerString(dropped!.headers, Header.sourceOffset), '1', 'and it says where the input is');
  assert.equal(headerString(dropped!.headers, 'trace'), 'large-1', 'the input’s headers stay while there is room');
  assert.equal(kept!.key?.toString(), 'small-poison');
  assert.deepEqual(kept!.value, Buffer.from([0xff, 0xff]), 'a dead letter that fits keeps its value');
  assert.equal(headerString(kept!.headers, Header.errorDropped), undefined);
  assert.equal(await app.stop(), 0, 'stopped cleanly, before its topics are deleted');
});
