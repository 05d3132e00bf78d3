/**
 * Output size limits: outcomes keep their input's key, so when the output topic has as many partitions as the input
 * (here one), all outcomes of an input partition's flush land in one output partition. With large batches
 * (maxBatchSize 8192, allowed up to 65536) those outcomes — ~330 bytes each with lineage headers — exceed the
 * broker's message.max.bytes (1 MiB) if written as one produce request. They must still be written (in several
 * requests), never retried forever as a whole.
 *
 * That such a flush happened is checked, not assumed: the outcomes of one model call are written in one send (a
 * flush scores its rows in one call, unless the model fails), so the largest call's rows times the smallest
 * prediction read back from the output topic is a lower bound on what one send carried for its one partition. It
 * must exceed the output topic's max.message.bytes as the broker reports it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { loadModel } from '../../src/model/tfjsModel.js';
import { testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { faultConfig, startApp } from './support/inprocess.js';
import { groupProgress } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { delayed, observed, wrappedLoader } from './support/models.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES } from './support/tally.js';
import { attempt, poll, stallWatch } from './support/wait.js';
import { createKafka, withTimeout, type ReadMessage } from '../support/kafka.js';

const TOTAL = 40_000;
const BATCH = 8192;

for (const mode of GUARANTEES) {
  test(`flushes of ${BATCH} outcomes into one output partition (more than the broker takes in one request) (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`largeflush-${mode}`);
    await createTestTopics(topics, 1, t);
    const expected = await publishDemoInputs(brokers, topics.input, { count: TOTAL, seed: 13, poisonEvery: 500, prefix: `largeflush-${mode}` });
    const config = faultConfig(topics, mode, { 'max-batch-size': String(BATCH), 'shutdown-timeout-ms': '5000' });
    // A slowed model lets whole batches queue up behind each call.
    let largestCall = 0;
    const loader = wrappedLoader((model) => delayed(observed(model, (rows) => (largestCall = Math.max(largestCall, rows))), 100), loadModel);
    const { app, stop } = await startApp(t, config, loader);
    const watch = stallWatch(20_000);
    const failure = await attempt(() =>
      poll(
        async () => {
          const { counts } = app.status();
          watch.seen(counts.predictions + counts.deadLetters);
          return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
        },
        { message: 'every flush written and committed', timeoutMs: 120_000, intervalMs: 200, abort: watch.stalled },
      ),
    );
    const { counts } = app.status();
    await stop();
    let smallestPrediction = Infinity;
    await countAndReport({
      scenario: 'large-flush',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      extra: { maxBatchSize: BATCH, sinkErrors: counts.sinkErrors, modelCalls: counts.modelCalls, largestModelCall: largestCall },
      onMessage: (m, kind) => {
        if (kind === 'prediction') smallestPrediction = Math.min(smallestPrediction, recordBytes(m));
      },
    });
    const limit = await maxMessageBytes(brokers, topics.output);
    const flushed = largestCall * smallestPrediction;
    console.log(`large-flush ${mode}: largest model call ${largestCall} rows x ${smallestPrediction} bytes >= ${flushed} bytes in one send (limit ${limit})`);
    assert.ok(
      flushed > limit,
      `one send carried over ${topics.output}'s max.message.bytes (${limit}) for its one partition: ` +
        `the largest model call had ${largestCall} rows, the smallest prediction is ${smallestPrediction} bytes`,
    );
  });
}

/** Bytes of a record's key, value and headers: a lower bound on what it adds to a record batch (no varints, no framing). */
function recordBytes(m: ReadMessage): number {
  let n = (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, value] of Object.entries(m.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) n += Buffer.byteLength(name) + (v === undefined ? 0 : Buffer.byteLength(v));
  }
  return n;
}

/** The topic's max.message.bytes as the broker reports it (its override, or the broker's message.max.bytes). */
async function maxMessageBytes(brokers: string[], topic: string): Promise<number> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
    });
    const value = Number(resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    assert.ok(value > 0, `the broker reports ${topic}'s max.message.bytes`);
    return value;
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}
