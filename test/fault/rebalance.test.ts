/**
 * Rebalances (issue 3, item 4): three `streamserve run` processes share one group; mid-stream one is SIGKILLed and
 * a fourth joins. Partitions move twice while records are in flight. Nothing may be lost or reordered; under
 * exactly-once nothing may be repeated either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopics } from '../support/kafka.js';
import { testBrokers, testTopics } from '../integration/support/app.js';
import { groupProgress } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const TOTAL = 40_000;
const PARTITIONS = 6;
/** Exactly-once pays a transaction per input partition per flush; larger batches keep its run time reasonable. */
const BATCH = { 'at-least-once': '16', 'exactly-once': '128' } as const;

for (const mode of GUARANTEES) {
  test(`three instances in one group: one SIGKILLed and one added mid-stream (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`rebalance-${mode}`);
    await createTopics(
      brokers,
      [
        { topic: topics.input, partitions: PARTITIONS },
        { topic: topics.output, partitions: 3 },
        { topic: topics.dlq, partitions: 1 },
      ],
      t,
    );
    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const expected = await publishDemoInputs(brokers, topics.input, { count: TOTAL, seed: 23, poisonEvery: 100, prefix: `rebalance-${mode}` });
    const env = () => instanceEnv(brokers, topics, { MAX_BATCH_SIZE: BATCH[mode] });

    let lagAtKill = -1;
    let committedAtKill = -1;
    const failure = await attempt(async () => {
      const first = [fleet.run(await env(), guaranteeArgs(mode)), fleet.run(await env(), guaranteeArgs(mode)), fleet.run(await env(), guaranteeArgs(mode))];
      await Promise.all(first.map((i) => i.waitReady(90_000)));
      for (const i of first) assert.equal((await i.status()).guarantee, mode);
      await sharing(first, 'the three instances share the partitions');
      await poll(async () => (await groupProgress(brokers, topics.group, topics.input)).committed >= TOTAL / 10, {
        message: 'a tenth of the inputs committed',
        timeoutMs: 120_000,
        intervalMs: 50,
        abort: () => first.map((i) => i.died()).find((r) => r !== undefined),
      });

      const [a, victim, b] = first as [Instance, Instance, Instance];
      ({ lag: lagAtKill, committed: committedAtKill } = await groupProgress(brokers, topics.group, topics.input));
      assert.equal(await victim.kill('SIGKILL'), 'SIGKILL');
      const added = fleet.run(await env(), guaranteeArgs(mode));
      await added.waitReady(90_000);
      const survivors = [a, b, added];
      await sharing(survivors, 'the survivors and the new instance share the partitions');
      await poll(async () => (await groupProgress(brokers, topics.group, topics.input)).lag === 0, {
        message: 'the group caught up (lag 0)',
        timeoutMs: 240_000,
        intervalMs: 250,
        abort: () => survivors.map((i) => i.died()).find((r) => r !== undefined),
      });
      const codes = await Promise.all(survivors.map((i) => i.kill('SIGTERM')));
      assert.deepEqual(codes, [0, 0, 0], `graceful stops; stderr of the last:\n${added.stderrTail()}`);
    });
    await fleet.killAll();

    await countAndReport({
      scenario: 'rebalance',
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      fleet,
      extra: {
        lagAtKill,
        committedAtKill,
        joins: fleet.instances.map((i) => i.logLines('joined group').length).join(','),
      },
    });
  });
}

/** Waits until every partition is assigned, each to exactly one of `instances`, and each instance holds some. */
async function sharing(instances: Instance[], message: string): Promise<void> {
  await poll(
    async () => {
      const held = (await Promise.all(instances.map((i) => i.status()))).map((s) => s.assignments.map((a) => a.partition));
      const all = held.flat();
      return held.every((p) => p.length > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS;
    },
    { message, timeoutMs: 60_000, intervalMs: 100, abort: () => instances.map((i) => i.died()).find((r) => r !== undefined) },
  );
}
