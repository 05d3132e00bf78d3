/**
 * Bounded memory under a backlog (invariant 4): a million inputs wait on the topic before streamserve (a child
 * process running the slowed-model script) starts; fetching is far faster than scoring, so the input must be
 * paused and resumed, and the process's peak resident memory (VmHWM) must stay bounded — no growth with the backlog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getText, metricValue, testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { groupProgress } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance, type Status } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES } from './support/tally.js';
import { attempt, poll, stallWatch } from './support/wait.js';

const TOTAL = 1_000_000;
const PARTITIONS = 3;
const MAX_INFLIGHT = 20_000;
const FETCH_BYTES = 262_144;
/**
 * A modest slowdown per model call: scoring stays far slower than fetching. Exactly-once commits a transaction per
 * input partition per batch (a few a second), so it runs with larger batches and a proportionally longer delay.
 */
const SETTINGS = {
  'at-least-once': { MAX_BATCH_SIZE: '256', FAULT_MODEL_DELAY_MS: '5' },
  'exactly-once': { MAX_BATCH_SIZE: '2048', FAULT_MODEL_DELAY_MS: '40' },
} as const;
/** Generous absolute ceiling for the whole process (wasm model in a worker, kafkajs, 20,000 records in flight). */
const MAX_PEAK_RSS_MB = 1024;
/** Resident memory in the second half of the backlog may exceed the first half's peak by at most this much. */
const MAX_GROWTH_MB = 96;

for (const mode of GUARANTEES) {
  test(`a backlog of ${TOTAL.toLocaleString('en')} inputs with a slow model: bounded memory, input paused and resumed (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`backlog-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const expected = await publishDemoInputs(brokers, topics.input, { count: TOTAL, seed: 91, poisonEvery: 1000, prefix: `backlog-${mode}` });
    const produceMs = Date.now() - started;

    const samples: { done: number; rssMB: number }[] = [];
    let baselineMB = 0;
    let peakMB = 0;
    let scoreMs = 0;
    let status: Status | undefined;
    let metrics = '';
    const failure = await attempt(async () => {
      const env = await instanceEnv(brokers, topics, {
        ...SETTINGS[mode],
        MAX_INFLIGHT_RECORDS: String(MAX_INFLIGHT),
        MAX_BYTES_PER_PARTITION: String(FETCH_BYTES),
      });
      const instance = fleet.serve(env, guaranteeArgs(mode));
      await instance.waitReady(90_000);
      baselineMB = memory(instance).rssMB;
      const scoring = Date.now();
      const watch = stallWatch(60_000);
      await poll(
        async () => {
          const s = await instance.status();
          const done = s.counts.predictions + s.counts.deadLetters;
          watch.seen(done);
          samples.push({ done, rssMB: memory(instance).rssMB });
          if (s.assignments.length !== PARTITIONS || !s.assignments.every((a) => a.lag === 0)) return false;
          return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
        },
        { message: `${instance.name} scored the backlog`, timeoutMs: 600_000, intervalMs: 500, abort: () => instance.died() ?? watch.stalled() },
      );
      scoreMs = Date.now() - scoring;
      peakMB = memory(instance).hwmMB;
      status = await instance.status();
      metrics = await getText(instance.port, '/metrics');
      assert.equal(await instance.kill('SIGTERM'), 0, `graceful stop; stderr:\n${instance.stderrTail()}`);
    });
    await fleet.killAll();

    const half = samples.filter((s) => s.done < TOTAL / 2);
    const firstHalfMB = Math.max(0, ...half.map((s) => s.rssMB));
    const secondHalfMB = Math.max(0, ...samples.filter((s) => s.done >= TOTAL / 2).map((s) => s.rssMB));
    const pauses = status?.counts.backpressurePauses ?? 0;
    await countAndReport({
      scenario: 'backlog-1m',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      fleet,
      readTimeoutMs: 300_000,
      extra: {
        peakRssMB: peakMB,
        baselineRssMB: baselineMB,
        firstHalfRssMB: firstHalfMB,
        secondHalfRssMB: secondHalfMB,
        pauses,
        peakInflight: status?.counts.peakInflight ?? -1,
        produceMs,
        scoreMs,
        perSecond: Math.round(TOTAL / Math.max(1, scoreMs / 1000)),
        batchSize: SETTINGS[mode].MAX_BATCH_SIZE,
        modelDelayMs: SETTINGS[mode].FAULT_MODEL_DELAY_MS,
      },
    });
    assert.ok(status !== undefined);
    assert.ok(pauses > 1, `the input was paused and resumed repeatedly (${pauses} pauses)`);
    assert.equal(metricValue(metrics, 'streamserve_backpressure_pauses_total'), pauses, 'the pause metric counts the same pauses');
    assert.equal(status.paused, false, 'resumed at the end');
    assert.equal(metricValue(metrics, 'streamserve_paused_partitions'), 0);
    // Past the bound only what one fetch already returned can arrive: partitions × fetch bytes, ≥ 70 bytes a record.
    const oneFetch = Math.ceil((PARTITIONS * FETCH_BYTES) / 70);
    assert.ok(status.counts.peakInflight <= MAX_INFLIGHT + oneFetch, `peak in flight ${status.counts.peakInflight}`);
    assert.ok(peakMB <= MAX_PEAK_RSS_MB, `peak RSS ${peakMB} MB over ${MAX_PEAK_RSS_MB} MB`);
    assert.ok(secondHalfMB <= firstHalfMB + MAX_GROWTH_MB, `RSS grew with the backlog: ${firstHalfMB} MB in the first half, ${secondHalfMB} MB in the second`);
  });
}

/** Resident and peak resident memory of a child process, from /proc (Linux). */
function memory(instance: Instance): { rssMB: number; hwmMB: number } {
  const text = readFileSync(`/proc/${instance.pid}/status`, 'utf8');
  const kB = (field: string) => Number(/(\d+)\s*kB/.exec(text.split('\n').find((l) => l.startsWith(`${field}:`)) ?? '')?.[1] ?? 0);
  return { rssMB: Math.round(kB('VmRSS') / 1024), hwmMB: Math.round(kB('VmHWM') / 1024) };
}
