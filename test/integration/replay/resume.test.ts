import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import type { ReplayStatus } from '../../../src/replay/progress.js';
import { waitFor } from '../../support/kafka.js';
import { getJson, publishDemoInputs, testBrokers, testConfig } from '../support/app.js';
import { freePort, startCli, type CliProcess } from '../support/process.js';
import { assertOutcomes, createReplayTopics, readOutcomes, replayTopics, type ReplayTopics } from './support.js';

const TOTAL = 20_000;

interface Replay extends CliProcess {
  port: number;
  stdout(): string;
}

async function startReplay(topics: ReplayTopics, guarantee: string): Promise<Replay> {
  const port = await freePort();
  const cli = startCli(['replay', '--to-topic', topics.target, '--from-beginning'], {
    KAFKA_BROKERS: testBrokers().join(','),
    INPUT_TOPIC: topics.input,
    OUTPUT_TOPIC: topics.output,
    DLQ_TOPIC: topics.dlq,
    GUARANTEE: guarantee,
    ADMIN_PORT: String(port),
    LOG_LEVEL: 'info',
    // small batches and little in flight: the replay is still running when the test interrupts it, and a graceful
    // stop (which finishes what is in flight) does not finish the whole range
    MAX_BATCH_SIZE: '16',
    MAX_INFLIGHT_RECORDS: '256',
    SHUTDOWN_TIMEOUT_MS: '20000',
  });
  let out = '';
  cli.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { ...cli, port, stdout: () => out };
}

/** Waits until the replay's committed progress reaches `done` records, and returns it. */
async function progressReaches(r: Replay, done: number): Promise<ReplayStatus> {
  return waitFor(
    async () => {
      const { body } = await getJson<{ replay?: ReplayStatus }>(r.port, '/status');
      return body.replay && body.replay.done >= done ? body.replay : null;
    },
    { timeoutMs: 120_000, intervalMs: 20, message: `replay progress reached ${done}` },
  );
}

describe('an interrupted replay resumes when run again with the same arguments', () => {
  test('exactly-once: SIGKILL, then SIGINT, then to the end — every input once (read_committed)', async () => {
    const topics = replayTopics('replay-kill-eos');
    await createReplayTopics(topics, 3, { after });
    const config = testConfig(topics);
    const inputs = await publishDemoInputs(config, TOTAL, { seed: 61, poisonEvery: 100, prefix: 'eos' });

    const first = await startReplay(topics, 'exactly-once');
    const atKill = await progressReaches(first, 3_000);
    assert.ok(atKill.done < TOTAL, 'the kill must land mid-replay');
    first.child.kill('SIGKILL');
    assert.equal(await first.exitWithin(30_000, 'first exit'), 'SIGKILL');

    const second = await startReplay(topics, 'exactly-once');
    const resumed = await progressReaches(second, 0);
    assert.ok(resumed.done >= atKill.done, `resumed at ${resumed.done}, before the ${atKill.done} committed when killed`);
    const atInterrupt = await progressReaches(second, resumed.done + 3_000);
    assert.ok(atInterrupt.done < TOTAL, 'the interrupt must land mid-replay');
    second.child.kill('SIGINT');
    assert.equal(await second.exitWithin(30_000, 'second exit'), 130, second.stderr().slice(-3000));
    assert.match(second.stdout(), /interrupted at \d+\/20000; run the same command again to resume/);

    const third = await startReplay(topics, 'exactly-once');
    assert.equal(await third.exitWithin(180_000, 'third exit'), 0, third.stderr().slice(-3000));
    assert.match(third.stdout(), /: complete$/m);
    const id = /^replay (\S+): complete$/m.exec(third.stdout())![1]!;

    const outputType = await loadAvroSchema(config.outputSchema);
    const outcomes = await readOutcomes(topics);
    assertOutcomes(outputType, inputs, outcomes, id);
  });

  test('at-least-once: SIGKILL, then to the end — nothing lost', async () => {
    const topics = replayTopics('replay-kill-alo');
    await createReplayTopics(topics, 3, { after });
    const config = testConfig(topics);
    const inputs = await publishDemoInputs(config, TOTAL, { seed: 62, poisonEvery: 100, prefix: 'alo' });

    const first = await startReplay(topics, 'at-least-once');
    const atKill = await progressReaches(first, 5_000);
    assert.ok(atKill.done < TOTAL, 'the kill must land mid-replay');
    first.child.kill('SIGKILL');
    await first.exitWithin(30_000, 'first exit');

    const second = await startReplay(topics, 'at-least-once');
    assert.equal(await second.exitWithin(180_000, 'second exit'), 0, second.stderr().slice(-3000));
    const id = /^replay (\S+): complete$/m.exec(second.stdout())![1]!;
    const rerun = Number(/records\s+(\d+) this run/.exec(second.stdout())![1]);
    assert.ok(rerun <= TOTAL - atKill.done, `the second run re-scored ${rerun}, more than the ${TOTAL - atKill.done} left uncommitted`);

    // at-least-once may repeat what the kill left uncommitted: read everything the topics hold
    const outputType = await loadAvroSchema(config.outputSchema);
    const outcomes = await readOutcomes(topics);
    assertOutcomes(outputType, inputs, outcomes, id, { allowRepeats: true });
  });
});
