import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../../src/app.js';
import { waitFor } from '../support/kafka.js';
import { getJson, getText, metricValue, testConfig, testLogger, testTopics, createTestTopics, publishDemoInputs } from './support/app.js';

interface Status {
  paused: boolean;
  inflight: number;
  counts: { predictions: number; deadLetters: number; backpressurePauses: number; peakInflight: number };
  assignments: { lag: number | null }[];
}

test('a backlog past maxInflightRecords pauses the input, resumes it, and scores everything', async () => {
  const TOTAL = 20_000;
  const MAX_INFLIGHT = 500;
  const FETCH_BYTES = 16_384;
  const PARTITIONS = 3;
  const topics = testTopics('backpressure');
  const config = testConfig(topics, {
    'max-inflight': String(MAX_INFLIGHT),
    'max-bytes-per-partition': String(FETCH_BYTES),
    'max-batch-size': '64',
  });
  const logger = testLogger(config);
  await createTestTopics(topics, PARTITIONS, { after });
  await publishDemoInputs(config, TOTAL, { seed: 3, poisonEvery: 0, prefix: 'bp' });

  const app = new App({ config, logger });
  after(() => app.stop());
  await app.start();
  const port = app.adminPort!;
  const status = await waitFor(
    async () => {
      const { body } = await getJson<Status>(port, '/status');
      const done = body.counts.predictions + body.counts.deadLetters;
      return done === TOTAL && body.assignments.length === PARTITIONS && body.assignments.every((a) => a.lag === 0) ? body : null;
    },
    { timeoutMs: 120_000, intervalMs: 100, message: 'backlog scored and committed' },
  );
  assert.equal(status.counts.predictions, TOTAL);
  assert.ok(status.counts.backpressurePauses > 0, 'the input was paused at least once');
  assert.equal(status.paused, false, 'and resumed at the end');
  assert.equal(status.inflight, 0);
  // Past the bound only the partition batch that crossed it arrives (the rest of that fetch is fetched again after
  // the resume). A partition's part of a fetch is FETCH_BYTES, or one whole producer batch if that is larger, so
  // bound it by one whole fetch: partitions × fetch bytes, ≥ 70 bytes a record.
  const oneFetch = Math.ceil((PARTITIONS * FETCH_BYTES) / 70);
  assert.ok(status.counts.peakInflight <= MAX_INFLIGHT + oneFetch, `peak in flight ${status.counts.peakInflight}`);
  const metrics = await getText(port, '/metrics');
  assert.equal(metricValue(metrics, 'streamserve_backpressure_pauses_total'), status.counts.backpressurePauses);
  assert.equal(metricValue(metrics, 'streamserve_paused_partitions'), 0);
  assert.equal(await app.stop(), 0, 'stopped cleanly, before its topics are deleted');
});
