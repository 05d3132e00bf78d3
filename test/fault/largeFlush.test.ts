/**
 * Output size limits: outcomes keep their input's key, so when the output topic has as many partitions as the input
 * (here one), all outcomes of an input partition's flush land in one output partition. With large batches
 * (maxBatchSize 8192, allowed up to 65536) those outcomes — ~330 bytes each with lineage headers — exceed the
 * broker's message.max.bytes (1 MiB) if written as one produce request. They must still be written (in several
 * requests), never retried forever as a whole.
 */
import { test } from 'node:test';
import { loadModel } from '../../src/model/tfjsModel.js';
import { testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { faultConfig, startApp } from './support/inprocess.js';
import { groupProgress } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { delayed, wrappedLoader } from './support/models.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES } from './support/tally.js';
import { attempt, poll, stallWatch } from './support/wait.js';

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
    const { app, stop } = await startApp(t, config, wrappedLoader((model) => delayed(model, 100), loadModel));
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
    await countAndReport({
      scenario: 'large-flush',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      extra: { maxBatchSize: BATCH, sinkErrors: counts.sinkErrors, modelCalls: counts.modelCalls },
    });
  });
}
