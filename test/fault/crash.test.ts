/**
 * Invariants 1 and 2 under crashes: `streamserve run` is SIGKILLed five times at random (seeded) moments while it
 * scores 50,000 inputs, restarted each time, and the last instance runs to lag 0. Nothing may be lost or
 * reordered; under exactly-once nothing may be repeated either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../../src/model/borehole.js';
import { testBrokers, testTopics, createTestTopics } from '../integration/support/app.js';
import { groupProgress } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const TOTAL = 50_000;
const PARTITIONS = 3;
const KILLS = 5;
/** Each kill comes after the instance produced between 0 and this many outcomes (0: as soon as it is ready). */
const MAX_KILL_AFTER = 8000;

for (const mode of GUARANTEES) {
  test(`SIGKILL ${KILLS} times while scoring ${TOTAL} inputs, restarting each time (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`crash-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const expected = await publishDemoInputs(brokers, topics.input, { count: TOTAL, seed: 17, poisonEvery: 100, prefix: `crash-${mode}` });

    const random = mulberry32(mode === 'exactly-once' ? 2002 : 1001);
    const killAfter = Array.from({ length: KILLS }, () => Math.floor(random() * MAX_KILL_AFTER));
    const killedAt: number[] = [];
    const env = () => instanceEnv(brokers, topics, { MAX_BATCH_SIZE: '64' });

    const failure = await attempt(async () => {
      for (const threshold of killAfter) {
        const instance = fleet.run(await env(), guaranteeArgs(mode));
        await startedIn(instance, mode);
        const done = await poll(
          async () => {
            const n = await instance.done();
            return n >= threshold ? { n } : null;
          },
          { message: `${instance.name} produced ${threshold} outcomes`, timeoutMs: 120_000, intervalMs: 10, abort: instance.died },
        );
        assert.equal(await instance.kill('SIGKILL'), 'SIGKILL');
        killedAt.push(done.n);
      }
      const last = fleet.run(await env(), guaranteeArgs(mode));
      await startedIn(last, mode);
      await poll(
        async () => {
          const status = await last.status();
          if (status.assignments.length !== PARTITIONS || !status.assignments.every((a) => a.lag === 0)) return false;
          return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
        },
        { message: `${last.name} caught up (lag 0 on every partition)`, timeoutMs: 180_000, intervalMs: 250, abort: last.died },
      );
      assert.equal(await last.kill('SIGTERM'), 0, `graceful stop of the last instance; stderr:\n${last.stderrTail()}`);
    });
    await fleet.killAll();

    await countAndReport({
      scenario: 'sigkill-consumer',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      extra: { kills: killedAt.length, killedAfterOutcomes: killedAt.join(',') || 'none', instances: fleet.instances.length },
    });
  });
}

/** Ready, and really in the mode under test (/status says which guarantee it runs). */
async function startedIn(instance: Instance, mode: string): Promise<void> {
  await instance.waitReady();
  const status = await instance.status();
  assert.equal(status.guarantee, mode, `${instance.name} runs ${String(status.guarantee)}, not ${mode}`);
}
