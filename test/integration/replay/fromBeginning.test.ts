import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import type { ModelRuntime, RuntimeLoadOptions } from '../../../src/model/model.js';
import { loadWorkerModel } from '../../../src/model/workerModel.js';
import { ReplayJob } from '../../../src/replay/job.js';
import type { ReplayStatus } from '../../../src/replay/progress.js';
import { waitFor } from '../../support/kafka.js';
import { getJson, getText, metricValue, publishDemoInputs, testConfig, testLogger } from '../support/app.js';
import { assertOutcomes, committedOffsets, createReplayTopics, messageCount, readOutcomes, replayTopics } from './support.js';

const TOTAL = 20_000;
const LATE = 1_000;

test('replay from the beginning: 20,000 earlier inputs, each scored once into the target; inputs produced meanwhile are not', async () => {
  const topics = replayTopics('replay-begin');
  await createReplayTopics(topics, 3, { after });
  const config = testConfig(topics);
  const logger = testLogger(config);
  // produced before any streamserve ran
  const inputs = await publishDemoInputs(config, TOTAL, { seed: 31, poisonEvery: 100, prefix: 'early' });

  const model = heldAfterFirstCall(config.logLevel);
  const job = new ReplayJob({
    config,
    logger,
    loadModel: model.load,
    args: { toTopic: topics.target, range: { start: { from: 'beginning' }, end: { until: 'end' } } },
  });
  const prepared = await job.prepare();
  assert.equal(prepared.stored, false);
  assert.match(prepared.group, /^streamserve-replay-[0-9a-f]{12}$/);
  const running = job.run(prepared);
  try {
    // Once the plan is stored the range is fixed: these arrive during the replay and must not be scored.
    await waitFor(async () => [...(await committedOffsets(prepared.group, topics.input)).values()].every((o) => o !== '-1'), {
      timeoutMs: 30_000,
      message: 'replay plan stored',
    });
    await publishDemoInputs(config, LATE, { seed: 32, poisonEvery: 100, prefix: 'late' });

    // progress on /status and /metrics while it runs (the admin server is up from before the model loads)
    const port = await waitFor(() => job.adminPort, { timeoutMs: 60_000, intervalMs: 5, message: 'replay admin server up' });
    const { body } = await getJson<{ replay?: ReplayStatus }>(port, '/status');
    assert.equal(body.replay?.total, TOTAL);
    assert.deepEqual(body.replay?.partitions.map((p) => p.partition), [0, 1, 2]);
    assert.equal(body.replay?.partitions.reduce((n, p) => n + Number(p.end) - Number(p.start), 0), TOTAL);
    assert.equal(metricValue(await getText(port, '/metrics'), 'streamserve_replay_records'), TOTAL);

    // Part-way: the model is held after its first call, so the replay stands still with some of its range committed.
    // The done gauge is that count, as /status reports it (read before and after the scrape), and with the remaining
    // gauges it adds up to the range.
    const earlier = await waitFor(
      async () => {
        const { replay } = (await getJson<{ replay?: ReplayStatus }>(port, '/status')).body;
        return replay !== undefined && replay.done > 0 ? replay : null;
      },
      { timeoutMs: 60_000, message: 'the replay committed its first outcomes' },
    );
    const partWay = await getText(port, '/metrics');
    const later = (await getJson<{ replay?: ReplayStatus }>(port, '/status')).body.replay!;
    const done = metricValue(partWay, 'streamserve_replay_done_records')!;
    assert.ok(done >= earlier.done && done <= later.done, `done records ${done}, /status said ${earlier.done} then ${later.done}`);
    assert.ok(done < TOTAL, `the held model stopped the replay part-way (done ${done} of ${TOTAL})`);
    assert.equal(metricValue(partWay, 'streamserve_replay_records'), TOTAL);
    assert.equal(done + sampleSum(partWay, 'streamserve_replay_remaining_records'), TOTAL, 'done + remaining = the range');
  } finally {
    // Even when an assertion above failed: the replay runs to its end before the topics' cleanup deletes them.
    model.release();
    await running.catch(() => {});
  }

  const result = await running;
  assert.equal(result.outcome, 'complete');
  assert.equal(result.status.done, TOTAL);
  assert.equal(result.status.total, TOTAL);
  assert.equal(result.counts!.recordsIn, TOTAL, 'nothing past the end offsets was taken in');
  assert.equal(result.counts!.predictions + result.counts!.deadLetters, TOTAL);
  assert.deepEqual(
    result.status.partitions.map((p) => p.committed),
    result.status.partitions.map((p) => p.end),
    'every partition committed exactly to its end',
  );

  const outputType = await loadAvroSchema(config.outputSchema);
  const outcomes = await readOutcomes(topics);
  assertOutcomes(outputType, inputs, outcomes, prepared.group);
  // Nothing else was written (no late input, no repeat): the topics hold exactly these messages.
  assert.equal(await messageCount(topics.target), inputs.valid.size);
  assert.equal(await messageCount(topics.dlq), inputs.poison.size);

  // The live group was never touched; the replay group sits at the end captured at the start.
  assert.ok([...(await committedOffsets(config.groupId, topics.input)).values()].every((o) => o === '-1'));
  const ends = await committedOffsets(prepared.group, topics.input);
  assert.equal([...ends.values()].reduce((n, o) => n + Number(o), 0), TOTAL);

  // Run again with the same arguments: the stored plan says it is done; nothing is written.
  const again = new ReplayJob({ config, logger, args: { toTopic: topics.target, range: { start: { from: 'beginning' }, end: { until: 'end' } } } });
  const second = await again.prepare();
  assert.equal(second.group, prepared.group);
  assert.equal(second.stored, true);
  const rerun = await again.run(second);
  assert.equal(rerun.outcome, 'complete');
  assert.equal(rerun.counts, null, 'nothing left to do');
  assert.equal(await messageCount(topics.target), inputs.valid.size);
});

/**
 * The replay's model, in its worker thread as `replay` runs it, held after its first call until release(): while it
 * is held nothing more is scored, so the committed progress stands still part-way through the range.
 */
function heldAfterFirstCall(logLevel: string): { load: (options: RuntimeLoadOptions) => Promise<ModelRuntime>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const load = async (options: RuntimeLoadOptions): Promise<ModelRuntime> => {
    const model = await loadWorkerModel({ ...options, logLevel });
    return {
      signature: model.signature,
      runtime: model.runtime,
      inputWidth: model.inputWidth,
      outputWidth: model.outputWidth,
      predict: async (rows, count) => {
        if (calls++ > 0) await released;
        return model.predict(rows, count);
      },
      close: () => model.close(),
    };
  };
  return { load, release };
}

/** The sum of a labelled gauge's samples. */
function sampleSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
