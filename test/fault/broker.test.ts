/**
 * Invariant 1 under output failures (issue 3, item 5): the broker is stopped (SIGTERM, controlled) and later killed
 * (SIGKILL), each time mid-stream, and restarted on its data. streamserve, a child process, must ride
 * both outages out by itself: /readyz answers 503 within seconds of the broker going away and 200 again after, and
 * nothing is lost. Each outage begins mid-stream: the instance is frozen (SIGSTOP) for the moment the broker goes
 * away, with inputs uncommitted. The broker is this scenario's own; the run's shared broker is never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTopics } from '../support/kafka.js';
import { testTopics } from '../integration/support/app.js';
import { groupProgress, startOwnBroker } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from './support/instances.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, type Expected } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const PARTITIONS = 3;
const PHASE = 10_000;
/**
 * Small batches keep the stream running while the broker goes away. Exactly-once pays one transaction per input
 * partition per flush (a few per second), so it needs larger ones to finish in reasonable time.
 */
const BATCH = { 'at-least-once': '8', 'exactly-once': '128' } as const;

for (const mode of GUARANTEES) {
  test(`broker stopped (SIGTERM) and killed (SIGKILL) mid-stream, restarted on its data (${mode})`, async (t) => {
    const started = Date.now();
    const own = await startOwnBroker();
    t.after(() => own.cleanup());
    const { broker } = own;
    const brokers = broker.brokers;
    const topics = testTopics(`broker-${mode}`);
    // No deletion at cleanup: the topics go with the broker's data directory.
    await createTopics(brokers, [
      { topic: topics.input, partitions: PARTITIONS },
      { topic: topics.output, partitions: PARTITIONS },
      { topic: topics.dlq, partitions: 1 },
    ]);
    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const expected = new Map<string, Expected>();
    let phases = 0;
    const publish = () => {
      const phase = ++phases;
      return publishDemoInputs(brokers, topics.input, { count: PHASE, seed: 40 + phase, poisonEvery: 100, prefix: `broker-${mode}-p${phase}`, expected });
    };

    const outages: Outage[] = [];
    let instance: Instance | undefined;
    const failure = await attempt(async () => {
      await publish();
      instance = fleet.run(await instanceEnv(brokers, topics, { MAX_BATCH_SIZE: BATCH[mode] }), guaranteeArgs(mode));
      await instance.waitReady();
      assert.equal((await instance.status()).guarantee, mode);
      const i = instance;
      const midStream = { brokers, group: topics.group, topic: topics.input, publish };

      outages.push(await outage(i, 'SIGTERM', () => broker.stop(), () => broker.restart({ keepData: true }), midStream));
      await publish();
      // The second outage comes soon after the instance works again.
      outages.push(await outage(i, 'SIGKILL', () => broker.kill(), () => broker.restart({ keepData: true }), midStream));
      await publish();
      await poll(
        async () => {
          const status = await i.status();
          if (status.assignments.length !== PARTITIONS || !status.assignments.every((a) => a.lag === 0)) return false;
          return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
        },
        { message: `${i.name} caught up after the outages`, timeoutMs: 180_000, intervalMs: 250, abort: i.died },
      );
      assert.equal(await i.kill('SIGTERM'), 0, `graceful stop after the outages; stderr:\n${i.stderrTail()}`);
    });
    await fleet.killAll();

    const extra: Record<string, string | number | boolean> = {};
    for (const o of outages) {
      const k = o.signal === 'SIGTERM' ? 'stop' : 'kill';
      extra[`${k}LagAtOutage`] = o.lagAtOutage;
      extra[`${k}ReadyzWhileDown`] = o.readyzWhileDown;
      extra[`${k}Ms`] = o.takeDownMs;
      extra[`${k}To503Ms`] = o.to503Ms;
      extra[`${k}RestartMs`] = o.restartMs;
      extra[`${k}ReadyAgainMs`] = o.readyAgainMs;
    }
    await countAndReport({ scenario: 'broker-restart', mode, brokers, topics, expected, started, failure, extra, fleet });
    for (const o of outages) {
      assert.ok(o.lagAtOutage > 0, `the ${o.signal} outage began mid-stream (lag ${o.lagAtOutage})`);
      assert.equal(o.readyzWhileDown, 503, `/readyz answered 503 during the ${o.signal} outage`);
      // inputFetching: a fetch unanswered for FETCH_MAX_WAIT_MS + 5 s; kafkajs alone took ~20 s to give up on the group.
      assert.ok(o.to503Ms <= 12_000, `/readyz reported the ${o.signal} outage within 12 s (took ${o.to503Ms} ms)`);
    }
  });
}

interface Outage {
  signal: 'SIGTERM' | 'SIGKILL';
  /** Input records not yet committed when the broker went away. */
  lagAtOutage: number;
  /** What /readyz answered (HTTP status, or why there was none) last while the broker was away. */
  readyzWhileDown: number | string;
  /** How long stopping or killing the broker took. */
  takeDownMs: number;
  /** From the broker's stop until /readyz answered 503 (or the watch gave up). */
  to503Ms: number;
  /** How long the broker took to start again. */
  restartMs: number;
  /** From the broker's return until /readyz answered 200. */
  readyAgainMs: number;
}

interface MidStream {
  brokers: string[];
  group: string;
  topic: string;
  /** Publishes another phase of inputs. */
  publish: () => Promise<unknown>;
}

/**
 * Freezes the instance (SIGSTOP) once it has produced another 1,000 outcomes and while inputs are still
 * uncommitted, so the broker goes away mid-stream however fast the instance drains; publishes another phase and
 * tries again when it had caught up (at most twice). Resolves with the lag at the freeze; the caller sends SIGCONT.
 */
async function freezeMidStream(instance: Instance, at: MidStream): Promise<number> {
  for (let tries = 0; ; tries++) {
    const target = (await instance.done()) + 1_000;
    await poll(async () => (await instance.done()) >= target, {
      message: `${instance.name} produced ${target} outcomes`,
      timeoutMs: 120_000,
      intervalMs: 20,
      abort: instance.died,
    });
    instance.proc.child.kill('SIGSTOP');
    const lag = (await groupProgress(at.brokers, at.group, at.topic)).lag;
    if (lag > 0 || tries === 2) return lag;
    instance.proc.child.kill('SIGCONT');
    await at.publish();
  }
}

/**
 * Takes the broker away while `instance` is busy (frozen for that moment, with work uncommitted), watches /readyz
 * until it answers 503 (the outage is reported) or 30 s pass, brings the broker back and waits for /readyz 200. The
 * instance must stay alive throughout.
 */
async function outage(instance: Instance, signal: Outage['signal'], takeDown: () => Promise<void>, bringBack: () => Promise<void>, at: MidStream): Promise<Outage> {
  const lagAtOutage = await freezeMidStream(instance, at);
  const began = Date.now();
  try {
    await takeDown();
  } finally {
    instance.proc.child.kill('SIGCONT');
  }
  const down = Date.now();
  // Over HTTP, as a load balancer would see it; a watch that gives up keeps the last answer for the test to assert.
  let readyzWhileDown: number | string = 'not asked';
  const gaveUp = await attempt(() =>
    poll(
      async () => {
        readyzWhileDown = await instance.readyz().catch((err: unknown) => `no answer (${err instanceof Error ? err.message : String(err)})`);
        return readyzWhileDown === 503;
      },
      { message: `${instance.name}: /readyz reports the broker outage (${signal})`, timeoutMs: 30_000, intervalMs: 100, abort: instance.died },
    ),
  );
  if (gaveUp !== undefined && instance.died() !== undefined) throw gaveUp;
  const noticed = Date.now();
  await bringBack();
  const back = Date.now();
  await poll(async () => (await instance.readyz()) === 200, {
    message: `${instance.name}: /readyz 200 again after the broker returned (${signal})`,
    timeoutMs: 120_000,
    intervalMs: 100,
    abort: instance.died,
  });
  return {
    signal,
    lagAtOutage,
    readyzWhileDown,
    takeDownMs: down - began,
    to503Ms: noticed - down,
    restartMs: back - noticed,
    readyAgainMs: Date.now() - back,
  };
}
