import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import { publishDemoInputs, testBrokers, testConfig } from '../support/app.js';
import { startCli, type CliProcess } from '../support/process.js';
import { assertOutcomes, committedOffsets, createReplayTopics, messageCount, readOutcomes, replayTopics, type ReplayTopics } from './support.js';

const TOTAL = 5_000;

/** `streamserve replay` as a process, with stdout collected. */
function replayCli(topics: ReplayTopics, args: string[], env: Record<string, string> = {}): CliProcess & { stdout(): string } {
  const cli = startCli(['replay', '--to-topic', topics.target, ...args], {
    KAFKA_BROKERS: testBrokers().join(','),
    INPUT_TOPIC: topics.input,
    OUTPUT_TOPIC: topics.output,
    DLQ_TOPIC: topics.dlq,
    ADMIN_PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  let out = '';
  cli.child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { ...cli, stdout: () => out };
}

describe('streamserve replay as a process', () => {
  test('dry run prints the plan and writes nothing; the replay then produces exactly the counts it printed', async () => {
    const topics = replayTopics('replay-dry');
    await createReplayTopics(topics, 3, { after });
    const config = testConfig(topics);
    const inputs = await publishDemoInputs(config, TOTAL, { seed: 51, poisonEvery: 100, prefix: 'dry' });

    const dry = replayCli(topics, ['--from-beginning', '--dry-run']);
    assert.equal(await dry.exitWithin(60_000, 'dry run exit'), 0, dry.stderr().slice(-3000));
    const printed = dry.stdout();
    const records = Number(/^records: (\d+)$/m.exec(printed)?.[1]);
    assert.equal(records, TOTAL, printed);
    const group = /^replay (streamserve-replay-[0-9a-f]{12}) \(new plan, not stored: dry run\)$/m.exec(printed)?.[1];
    assert.ok(group, printed);
    const rows = [...printed.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+-\s+(\d+)$/gm)].map((m) => m.slice(1).map(Number));
    assert.equal(rows.length, 3, printed);
    assert.equal(rows.reduce((n, r) => n + r[3]!, 0), TOTAL);
    for (const [, start, end, count] of rows) assert.equal(end! - start!, count);
    // nothing written: no plan, no offsets, no outcomes
    assert.ok([...(await committedOffsets(group, topics.input)).values()].every((o) => o === '-1'));
    assert.equal(await messageCount(topics.target), 0);

    const real = replayCli(topics, ['--from-beginning']);
    assert.equal(await real.exitWithin(120_000, 'replay exit'), 0, real.stderr().slice(-3000));
    const summary = real.stdout();
    assert.match(summary, new RegExp(`^replay ${group}: complete$`, 'm'));
    assert.match(summary, new RegExp(`records\\s+${TOTAL} this run: ${inputs.valid.size} predictions, ${inputs.poison.size} dead letters`));
    assert.match(summary, /rate\s+\d+ records\/s/);
    assert.match(real.stderr(), /replay progress: 5000\/5000 records/, 'plain progress lines when stderr is not a terminal');
    assert.doesNotMatch(real.stderr(), /after finishing \(open:/, 'a complete replay closes every handle itself');
    assert.equal((await messageCount(topics.target)) + (await messageCount(topics.dlq)), records, 'the counts the dry run printed');
    const outputType = await loadAvroSchema(config.outputSchema);
    assertOutcomes(outputType, inputs, await readOutcomes(topics), group);

    // a dry run after it shows the stored plan, all done
    const after1 = replayCli(topics, ['--from-beginning', '--dry-run']);
    assert.equal(await after1.exitWithin(60_000, 'dry run exit'), 0);
    assert.match(after1.stdout(), /stored plan/);
    assert.match(after1.stdout(), /^remaining: 0$/m);
  });

  test('arguments: the input topic as target, no start, two starts, a zone-less timestamp → exit 2 naming the problem', async () => {
    const topics = replayTopics('replay-args');
    const cases: Array<[string[], RegExp]> = [
      [['--from-beginning', '--to-topic', topics.input], /--to-topic must differ from the input topic/],
      [[], /give exactly one of --from-beginning, --from-timestamp/],
      [['--from-beginning', '--from-offsets', '0:1'], /got --from-beginning, --from-offsets/],
      [['--from-timestamp', '2024-05-01T12:00:00'], /--from-timestamp must be an ISO-8601 date or date-time with a zone/],
    ];
    for (const [args, message] of cases) {
      // --to-topic given twice: the last one wins, so the first case's target is the input topic
      const cli = replayCli(topics, args);
      assert.equal(await cli.exitWithin(30_000, 'exit'), 2, cli.stderr());
      assert.match(cli.stderr(), /CONFIG_INVALID/);
      assert.match(cli.stderr(), message);
    }
  });
});
