/**
 * Exactly-once when a transaction's commit is recorded but its answer never arrives (issue 20): a broker that
 * crashes right after writing the commit, or a connection that drops then. A proxy in front of the scenario's own
 * broker forwards EndTxn and cuts the connection before the answer, so kafkajs reports a failed commit that the
 * broker in fact completes. streamserve must find that out (fence the id again, read the committed offset back)
 * instead of writing the same outcomes again in a new transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopics } from '../support/kafka.js';
import { ApiKeys } from '../support/kafkaProxy.js';
import { testTopics } from '../integration/support/app.js';
import { groupProgress, startOwnBroker } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import type { Expected } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const PARTITIONS = 3;
const PHASE = 3_000;
/**
 * Answers lost per phase: the first commits of a partition (the backlog at start), then commits amid the stream
 * on partitions that already have committed work.
 */
const CUTS = [PARTITIONS, 2];

test('transaction commits whose answers are lost (EndTxn answered, connection cut): no output written twice (exactly-once)', async (t) => {
  const started = Date.now();
  const mode = 'exactly-once';
  const own = await startOwnBroker(() => {}, { proxy: true });
  t.after(() => own.cleanup());
  const { broker } = own;
  const proxy = own.proxy!;
  const brokers = broker.brokers;
  const topics = testTopics('commit-answer-lost');
  await createTopics(brokers, [
    { topic: topics.input, partitions: PARTITIONS },
    { topic: topics.output, partitions: PARTITIONS },
    { topic: topics.dlq, partitions: 1 },
  ]);
  const expected = new Map<string, Expected>();
  const publish = (phase: number) =>
    publishDemoInputs(brokers, topics.input, { count: PHASE, seed: 20 + phase, poisonEvery: 100, prefix: `commit-answer-lost-p${phase}`, expected });

  const fleet = new Fleet();
  t.after(() => fleet.killAll());
  let cut = 0;
  const failure = await attempt(async () => {
    await publish(1);
    const instance = fleet.run(await instanceEnv(brokers, topics, { MAX_BATCH_SIZE: '64' }), guaranteeArgs(mode));
    const caughtUp = () =>
      poll(
        async () => {
          const status = await instance.status();
          if (status.assignments.length !== PARTITIONS || !status.assignments.every((a) => a.lag === 0)) return false;
          return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
        },
        { message: `${instance.name} caught up`, timeoutMs: 180_000, intervalMs: 250, abort: instance.died },
      );
    for (const [i, cuts] of CUTS.entries()) {
      proxy.cutAnswers(ApiKeys.EndTxn, cuts);
      cut += cuts;
      if (i === 0) await instance.waitReady();
      else await publish(i + 1);
      await poll(() => proxy.cutCount(ApiKeys.EndTxn) >= cut, { message: `${cut} commit answers were cut`, timeoutMs: 60_000, intervalMs: 20, abort: instance.died });
      await caughtUp();
    }
    assert.equal(await instance.kill('SIGTERM'), 0, `graceful stop; stderr:\n${instance.stderrTail()}`);
  });
  await fleet.killAll();
  await countAndReport({ scenario: 'commit-answer-lost', mode, brokers, topics, expected, started, failure, extra: { answersCut: proxy.cutCount(ApiKeys.EndTxn) }, fleet });
});
