/**
 * Permissions taken away mid-stream (issue 13): a broker of this file's own enforces ACLs (StandardAuthorizer,
 * everything allowed where a resource has no ACL), and each scenario denies one permission streamserve needs — WRITE
 * on the output topic, WRITE on the dead-letter topic, READ on the group (in both delivery modes), and under
 * exactly-once WRITE on the transactional ids — while `streamserve run`, a child process, is busy; and WRITE on a
 * replay's target topic while `streamserve replay` is busy. A refusal is fatal, never retried: the process
 * must exit 1 with AUTHORIZATION_FAILED naming the resource and the operation, logged once under `err`; /readyz must
 * answer 503 naming the failing check until it is gone; nothing may be committed past what was written. Once the ACL
 * is removed, a new instance finishes the stream: nothing lost (exactly-once: nothing repeated either).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafka, createTopics, withTimeout, type ReadMessage } from '../support/kafka.js';
import { testTopics, type TestTopics } from '../integration/support/app.js';
import { AclOperationTypes, AclResourceTypes, ResourcePatternTypes, changeAcls, denial, type Denied } from './support/acl.js';
import { groupProgress, startOwnBroker, type OwnBroker } from './support/cluster.js';
import { publishDemoInputs } from './support/inputs.js';
import { Fleet, guaranteeArgs, instanceEnv, type Instance } from './support/instances.js';
import { readOutcomes, toOutcome } from './support/read.js';
import { countAndReport } from './support/scenario.js';
import type { Expected, Guarantee, Outcome } from './support/tally.js';
import { attempt, poll } from './support/wait.js';
import { startCli } from '../integration/support/process.js';


const PARTITIONS = 3;
/** Inputs before the ACL, and after it (so a write is refused even if the first ones were all written by then). */
const FIRST = 10_000;
const SECOND = 300;
const BATCH = { 'at-least-once': '8', 'exactly-once': '64' } as const;
/** From the ACL to the exit: the refusal comes with the next write, heartbeat or commit (about a second apart). */
const EXIT_WITHIN_MS = 30_000;

interface Scenario {
  name: string;
  mode: Guarantee;
  /** The resource denied to User:ANONYMOUS and the operation refused on it. */
  acl: (t: TestTopics) => Denied;
  /** What the logged error's message must name. */
  named: (t: TestTopics) => RegExp;
  /** Readiness checks of which one must be false (besides `running`) while the process stops. */
  checks: string[];
}

const quoted = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const denials: Omit<Scenario, 'mode'>[] = [
  {
    name: 'output-write',
    acl: (t) => ({ resourceType: AclResourceTypes.TOPIC, resourceName: t.output, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.WRITE }),
    named: (t) => new RegExp(`not authorized to write topic "${quoted(t.output)}"`),
    checks: ['outputWritable'],
  },
  {
    name: 'dlq-write',
    acl: (t) => ({ resourceType: AclResourceTypes.TOPIC, resourceName: t.dlq, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.WRITE }),
    // Only the dead-letter topic, though its outcomes go out with the output topic's.
    named: (t) => new RegExp(`not authorized to write topic "${quoted(t.dlq)}" \\(`),
    checks: ['outputWritable'],
  },
  {
    name: 'group-read',
    acl: (t) => ({ resourceType: AclResourceTypes.GROUP, resourceName: t.group, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.READ }),
    named: (t) => new RegExp(`not authorized to read group "${quoted(t.group)}"`),
    // The consumer's commit or heartbeat (at-least-once), or the transaction's offset commit (exactly-once).
    checks: ['groupJoined', 'outputWritable'],
  },
];

const SCENARIOS: Scenario[] = [
  ...(['at-least-once', 'exactly-once'] as const).flatMap((mode) => denials.map((d) => ({ ...d, mode }))),
  {
    name: 'transactional-id-write',
    mode: 'exactly-once',
    // Transactional ids are `<group>-<topic>-<partition>` (TRANSACTIONAL_ID_PREFIX defaults to the group).
    acl: (t) => ({ resourceType: AclResourceTypes.TRANSACTIONAL_ID, resourceName: t.group, resourcePatternType: ResourcePatternTypes.PREFIXED, operation: AclOperationTypes.WRITE }),
    named: (t) => new RegExp(`not authorized to write transactional id "${quoted(t.group)}-${quoted(t.input)}-\\d+"`),
    checks: ['outputWritable'],
  },
];

let own: OwnBroker;
before(async () => {
  own = await startOwnBroker(() => {}, { authorizer: true });
});
after(() => own?.cleanup());

for (const s of SCENARIOS) {
  test(`${s.name} denied mid-stream: exit 1 with AUTHORIZATION_FAILED once, 503 meanwhile, nothing committed past what was written, nothing lost after a restart (${s.mode})`, async (t) => {
    const started = Date.now();
    const brokers = own.broker.brokers;
    const topics = testTopics(`acl-${s.name}`);
    // No deletion at cleanup: the topics go with the broker's data directory.
    await createTopics(brokers, [
      { topic: topics.input, partitions: PARTITIONS },
      { topic: topics.output, partitions: PARTITIONS },
      { topic: topics.dlq, partitions: 1 },
    ]);
    const fleet = new Fleet();
    t.after(() => fleet.killAll());
    const expected = new Map<string, Expected>();
    const publish = (phase: number, count: number) =>
      publishDemoInputs(brokers, topics.input, { count, seed: 70 + phase, poisonEvery: 20, prefix: `acl-${s.name}-p${phase}`, expected });
    const env = await instanceEnv(brokers, topics, { MAX_BATCH_SIZE: BATCH[s.mode] });
    const acls = denial(s.acl(topics));

    const extra: Record<string, string | number | boolean> = {};
    let committedAtExit = new Map<number, number>();
    const failure = await attempt(async () => {
      await publish(1, FIRST);
      const first = fleet.run(env, guaranteeArgs(s.mode));
      await first.waitReady();
      // Mid-stream: outcomes written and their offsets committed (scoring runs far ahead of the writes).
      await poll(async () => (await groupProgress(brokers, topics.group, topics.input)).committed >= 200, {
        message: `${first.name} committed 200 inputs`,
        timeoutMs: 60_000,
        intervalMs: 50,
        abort: first.died,
      });

      const denied = Date.now();
      await changeAcls(brokers, 'create', acls);
      const watch = watchReadiness(first);
      await publish(2, SECOND);
      const code = await first.proc.exitWithin(EXIT_WITHIN_MS, `${first.name} exit after the ACL`);
      const answers = await watch.stop();
      extra.exitMs = Date.now() - denied;
      assert.equal(code, 1, `exit code after the refusal; stderr:\n${first.stderrTail()}`);

      // Logged once, under `err`, with its code and the resource and operation in its message.
      const logged = errLines(first).filter((l) => l.err.code === 'AUTHORIZATION_FAILED');
      assert.equal(logged.length, 1, `AUTHORIZATION_FAILED logged once under err (got ${logged.length}); stderr:\n${first.stderrTail()}`);
      assert.match(String(logged[0]!.err.message), s.named(topics));

      // /readyz said why from the refusal until the process was gone: every answer to a request sent after the error
      // was logged is 503 naming the check. (The stop may take less than a poll: then there is none to judge.)
      const after = answers.filter((a) => a.sentAt > logged[0]!.time);
      extra.readyzAfterRefusal = after.length;
      extra.failingChecks = [...new Set(after.flatMap((a) => a.failing))].join('+') || 'none';
      for (const a of after) {
        assert.equal(a.status, 503, 'not ready once refused');
        assert.ok(a.failing.includes('running') && s.checks.some((c) => a.failing.includes(c)), `/readyz named running and ${s.checks.join(' or ')} (it named ${a.failing.join(', ')})`);
      }

      // What the group had committed when the process was gone: nothing past what was written. At-least-once
      // outcomes are read now. Under exactly-once a transaction the refusal caught between its writes and its end
      // stays open, holding read_committed readers back until the next owner fences it, so they are read at the end:
      // the new instance starts at these offsets and never writes an outcome below them, so every outcome below them
      // read then was written by this one.
      // (Read once the ACL is gone: with READ on the group denied, the broker answers an offset fetch with none.)
      await changeAcls(brokers, 'delete', acls);
      committedAtExit = await committedOffsets(brokers, topics.group, topics.input);
      const total = [...committedAtExit.values()].reduce((a, b) => a + b, 0);
      extra.committedAtExit = total;
      if (s.mode === 'at-least-once') {
        const written = new Set<string>();
        await readOutcomes(brokers, topics, (o) => written.add(`${o.sourcePartition}:${o.sourceOffset}`), { timeoutMs: 30_000 });
        extra.writtenAtExit = written.size;
        assertNothingCommittedPast(committedAtExit, written);
      }
      assert.ok(total >= 200, 'the refusal came mid-stream: outcomes were committed before it');
      assert.ok(total < FIRST + SECOND, 'the refusal came before the end of the stream');

      // The permission back, a new instance finishes the stream.
      const second = fleet.run(env, guaranteeArgs(s.mode));
      await caughtUp(second, brokers, topics);
      assert.equal(await second.kill('SIGTERM'), 0, `graceful stop after catching up; stderr:\n${second.stderrTail()}`);
    });
    await fleet.killAll();
    extra.scenarioMs = Date.now() - started;
    // Lost 0 in both modes; under exactly-once also no input twice (read_committed).
    const written = new Set<string>();
    const onMessage = (m: ReadMessage, kind: Outcome['kind']) => {
      const o = toOutcome(m, kind);
      written.add(`${o.sourcePartition}:${o.sourceOffset}`);
    };
    await countAndReport({ scenario: `acl-${s.name}`, mode: s.mode, brokers, topics, expected, started, failure, extra, fleet, onMessage });
    if (s.mode === 'exactly-once') assertNothingCommittedPast(committedAtExit, written);
  });
}

// `replay` stops on a refusal as `run` does: WRITE denied on its target topic mid-range.
test('target-write denied mid-replay: exit 1 with AUTHORIZATION_FAILED once, nothing committed past what was written; the replay resumed completes with nothing lost', async (t) => {
  const brokers = own.broker.brokers;
  const topics = testTopics('acl-replay');
  const target = `${topics.output}-replayed`;
  const replayGroup = `${topics.group}-replay`;
  await createTopics(brokers, [
    { topic: topics.input, partitions: PARTITIONS },
    { topic: topics.output, partitions: PARTITIONS },
    { topic: target, partitions: PARTITIONS },
    { topic: topics.dlq, partitions: 1 },
  ]);
  const TOTAL = 40_000;
  const expected = await publishDemoInputs(brokers, topics.input, { count: TOTAL, seed: 90, poisonEvery: 20, prefix: 'acl-replay' });
  const env = await instanceEnv(brokers, topics, { MAX_BATCH_SIZE: '8' });
  const replay = () => startCli(['replay', '--to-topic', target, '--from-beginning', '--replay-group', replayGroup], env);
  const acls = denial({ resourceType: AclResourceTypes.TOPIC, resourceName: target, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.WRITE });

  const first = replay();
  t.after(() => first.child.kill('SIGKILL'));
  const running = first.exited.then((code) => assert.fail(`the replay exited (${code}) before the ACL; stderr:\n${first.stderr().slice(-3000)}`));
  await Promise.race([
    running,
    poll(async () => (await groupProgress(brokers, replayGroup, topics.input)).committed >= 200, { message: 'the replay committed 200 inputs', timeoutMs: 60_000, intervalMs: 50 }),
  ]);
  running.catch(() => {});
  await changeAcls(brokers, 'create', acls);
  assert.equal(await first.exitWithin(EXIT_WITHIN_MS, 'replay exit after the ACL'), 1, first.stderr().slice(-3000));
  const logged = errLinesOf(first.stderr()).filter((l) => l.err.code === 'AUTHORIZATION_FAILED');
  assert.equal(logged.length, 1, `AUTHORIZATION_FAILED logged once under err; stderr:\n${first.stderr().slice(-3000)}`);
  assert.match(String(logged[0]!.err.message), new RegExp(`not authorized to write topic "${quoted(target)}"`));

  await changeAcls(brokers, 'delete', acls);
  const committedAtExit = await committedOffsets(brokers, replayGroup, topics.input);
  const total = [...committedAtExit.values()].reduce((a, b) => a + b, 0);
  assert.ok(total >= 200 && total < TOTAL, `the refusal came mid-range (committed ${total} of ${TOTAL})`);
  const written = new Set<string>();
  const ids = new Set<string>();
  const collect = (o: Outcome) => {
    written.add(`${o.sourcePartition}:${o.sourceOffset}`);
    ids.add(o.id);
  };
  await readOutcomes(brokers, { output: target, dlq: topics.dlq }, collect, { timeoutMs: 30_000 });
  assertNothingCommittedPast(committedAtExit, written);

  // The permission back, the same replay resumes and completes: every input has an outcome.
  const second = replay();
  t.after(() => second.child.kill('SIGKILL'));
  assert.equal(await second.exitWithin(120_000, 'resumed replay exit'), 0, second.stderr().slice(-3000));
  ids.clear();
  await readOutcomes(brokers, { output: target, dlq: topics.dlq }, collect, { timeoutMs: 30_000 });
  const missing = [...expected.keys()].filter((id) => !ids.has(id));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} inputs without an outcome after the resumed replay`);
});

/** Every input offset below a partition's committed offset has an outcome (`written`: `partition:offset`). */
function assertNothingCommittedPast(committed: ReadonlyMap<number, number>, written: ReadonlySet<string>): void {
  const past: string[] = [];
  for (const [partition, offset] of committed) for (let o = 0; o < offset; o++) if (!written.has(`${partition}:${o}`)) past.push(`${partition}:${o}`);
  assert.deepEqual(past.slice(0, 5), [], `${past.length} input offsets were committed without their outcome written`);
}

/** The group's committed offset of each partition of `topic` that has one. */
async function committedOffsets(brokers: string[], group: string, topic: string): Promise<Map<number, number>> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}

/** Log lines with an `err` (pino's serialization: type, message, stack, and the error's own fields such as code). */
function errLines(instance: Instance): { time: number; err: Record<string, unknown> }[] {
  return errLinesOf(instance.proc.stderr());
}

function errLinesOf(stderr: string): { time: number; err: Record<string, unknown> }[] {
  const out: { time: number; err: Record<string, unknown> }[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('"err":')) continue;
    try {
      const { time, err } = JSON.parse(line) as { time?: unknown; err?: unknown };
      if (err !== null && typeof err === 'object' && typeof time === 'number') out.push({ time, err: err as Record<string, unknown> });
    } catch {
      // a line cut short
    }
  }
  return out;
}

interface ReadyzAnswer {
  /** When the request was sent (this machine's clock, as the instance's log times). */
  sentAt: number;
  status: number;
  /** The checks the answer names as failing. */
  failing: string[];
}

/** Polls /readyz until stopped or the process has exited, keeping every answer. */
function watchReadiness(instance: Instance): { stop: () => Promise<ReadyzAnswer[]> } {
  const answers: ReadyzAnswer[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped && instance.exit === undefined) {
      const sentAt = Date.now();
      try {
        const res = await fetch(`http://127.0.0.1:${instance.port}/readyz`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { checks?: Record<string, boolean> };
        answers.push({ sentAt, status: res.status, failing: Object.entries(body.checks ?? {}).filter(([, ok]) => !ok).map(([name]) => name) });
      } catch {
        // refused once the admin server closed
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return answers;
    },
  };
}

async function caughtUp(instance: Instance, brokers: string[], topics: TestTopics): Promise<void> {
  await instance.waitReady();
  await poll(
    async () => {
      const status = await instance.status();
      if (status.assignments.length !== PARTITIONS || !status.assignments.every((a) => a.lag === 0)) return false;
      return (await groupProgress(brokers, topics.group, topics.input)).lag === 0;
    },
    { message: `${instance.name} caught up after the permission came back`, timeoutMs: 120_000, intervalMs: 250, abort: instance.died },
  );
}
