/**
 * Long inference keeps membership (issue 3, item 3): model calls longer than the heartbeat interval must not get
 * the instance kicked out of its group. Three slow models, each in a child process:
 *   - a model that waits 2.5 s per call (a remote model server), heartbeat 1 s, session 10 s;
 *   - a heavy model, up to ~2 s of synchronous compute per call, in the model thread (the default), session 6 s;
 *   - the same heavy model on the main thread (INFERENCE_THREAD=main), heartbeat 0.5 s, session 6 s (there fetches
 *     wait for the model, so batches fill less and calls are shorter: the heartbeat is shorter to match).
 * Each must join its group once, never rebalance, and score everything.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getText, metricValue, testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { groupProgress } from './support/cluster.js';
import { writeHeavyModel, type HeavyModel } from './support/heavyModel.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, type Guarantee } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const PARTITIONS = 3;
/** A full batch of the heavy model takes about this long; partial batches less. */
const HEAVY_CALL_MS = 2000;
/** Calls longer than the heartbeat interval a run must make to mean anything. */
const MIN_SLOW_CALLS = 3;
/** Heartbeat intervals used, as they appear in the inference-time histogram's `le` labels. */
type Heartbeat = '500' | '1000';

let heavy: HeavyModel;
let heavyDir: string;
before(async () => {
  heavyDir = mkdtempSync(join(tmpdir(), 'streamserve-fault-heavy-'));
  heavy = await writeHeavyModel(heavyDir, HEAVY_CALL_MS);
});
after(() => rmSync(heavyDir, { recursive: true, force: true }));

interface Variant {
  name: string;
  /** Inputs, settings and how to start the instance. */
  setup: () => { count: number; env: Record<string, string> & { HEARTBEAT_INTERVAL_MS: Heartbeat }; serve: boolean };
}

const VARIANTS: Variant[] = [
  {
    name: 'waits 2.5 s per call',
    setup: () => ({
      // At most 500 rows per call, whatever the default: 1,500 inputs make at least three slow calls.
      count: 1500,
      env: { FAULT_MODEL_DELAY_MS: '2500', MAX_BATCH_SIZE: '500', SESSION_TIMEOUT_MS: '10000', HEARTBEAT_INTERVAL_MS: '1000' },
      serve: true,
    }),
  },
  {
    name: 'computes up to ~2 s per call in the model thread',
    setup: () => ({
      count: heavy.batchSize * 5,
      env: heavyEnv({ HEARTBEAT_INTERVAL_MS: '1000' }),
      serve: false,
    }),
  },
  {
    name: 'computes up to ~2 s per call on the main thread',
    setup: () => ({
      count: heavy.batchSize * 5,
      env: heavyEnv({ INFERENCE_THREAD: 'main', HEARTBEAT_INTERVAL_MS: '500' }),
      serve: false,
    }),
  },
];

/**
 * The heavy model's instance settings. Room in flight for whole batches behind the running call: the scenario
 * needs calls of the full size.
 */
function heavyEnv<E extends Record<string, string>>(extra: E): Record<string, string> & E {
  return {
    MODEL_DIR: heavy.dir,
    MAX_BATCH_SIZE: String(heavy.batchSize),
    MAX_INFLIGHT_RECORDS: String(heavy.batchSize * 3),
    SESSION_TIMEOUT_MS: '6000',
    ...extra,
  };
}

for (const mode of GUARANTEES) {
  for (const variant of VARIANTS) {
    test(`a model that ${variant.name}: no rebalance, everything scored (${mode})`, async (t) => {
      await slowModelScenario(t, mode, variant);
    });
  }
}

async function slowModelScenario(t: TestContext, mode: Guarantee, variant: Variant): Promise<void> {
  const started = Date.now();
  const brokers = testBrokers();
  const topics = testTopics(`slow-${mode}`);
  await createTestTopics(topics, PARTITIONS, t);
  const fleet = new Fleet();
  t.after(() => fleet.killAll());
  const { count, env, serve } = variant.setup();
  const expected = await publishDemoInputs(brokers, topics.input, { count, seed: 31, poisonEvery: 100, prefix: `slow-${mode}` });

  let instance: Instance | undefined;
  let meanCallMs = 0;
  let calls = 0;
  let slowCalls = 0;
  const failure = await attempt(async () => {
    const e = await instanceEnv(brokers, topics, env);
    const i = (instance = serve ? fleet.serve(e, guaranteeArgs(mode)) : fleet.run(e, guaranteeArgs(mode)));
    await i.waitReady(90_000);
    assert.equal((await i.status()).guarantee, mode);
    await poll(
      async () => {
        const status = await i.status();
        if (status.assignments.length !== PARTITIONS || !status.assignments.every((a) => a.lag === 0)) return false;
        return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
      },
      { message: `${i.name} scored everything`, timeoutMs: 180_000, intervalMs: 250, abort: i.died },
    );
    const metrics = await getText(i.port, '/metrics');
    calls = metricValue(metrics, 'streamserve_inference_seconds_count') ?? 0;
    meanCallMs = Math.round((1000 * (metricValue(metrics, 'streamserve_inference_seconds_sum') ?? 0)) / Math.max(1, calls));
    // Calls longer than the heartbeat interval: the histogram's count minus its bucket at that bound.
    const le = `le="${Number(env.HEARTBEAT_INTERVAL_MS) / 1000}"`;
    slowCalls = calls - (metricValue(metrics, 'streamserve_inference_seconds_bucket', le) ?? calls);
    assert.equal(await i.kill('SIGTERM'), 0, `graceful stop; stderr:\n${i.stderrTail()}`);
  });
  await fleet.killAll();

  const joins = instance?.logLines('joined group').length ?? 0;
  const rebalances = instance?.logLines('rebalancing').length ?? 0;
  const crashes = instance?.logLines('consumer crashed').length ?? 0;
  await countAndReport({
    scenario: `slow-model(${variant.name})`,
    mode,
    brokers,
    topics,
    expected,
    started,
    failure,
    fleet,
    extra: { joins, rebalances, crashes, modelCalls: calls, slowCalls, meanCallMs, heartbeatMs: env.HEARTBEAT_INTERVAL_MS ?? 'default', batchSize: env.MAX_BATCH_SIZE ?? 'default' },
  });
  assert.ok(slowCalls >= MIN_SLOW_CALLS, `${slowCalls} model calls took longer than the heartbeat interval; the scenario needs ${MIN_SLOW_CALLS}`);
  assert.equal(joins, 1, 'joined the group once: no rebalance loop');
  assert.equal(rebalances, 0, 'no rebalance');
}
