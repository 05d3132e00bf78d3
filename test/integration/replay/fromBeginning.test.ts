import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
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

  const job = new ReplayJob({ config, logger, args: { toTopic: topics.target, range: { start: { from: 'beginning' }, end: { until: 'end' } } } });
  const prepared = await job.prepare();
  assert.equal(prepared.stored, false);
  assert.match(prepared.group, /^streamserve-replay-[0-9a-f]{12}$/);
  const running = job.run(prepared);

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
  const metrics = await getText(port, '/metrics');
  assert.equal(metricValue(metrics, 'streamserve_replay_records'), TOTAL);
  assert.ok(metricValue(metrics, 'streamserve_replay_done_records')! >= 0);

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
