import assert from 'node:assert/strict';
import type { AvroType } from '../../../src/codec/schema.js';
import { borehole } from '../../../src/model/borehole.js';
import type { DemoInputs } from '../../../src/demo/demoInputs.js';
import { Header } from '../../../src/kafka/headers.js';
import { createKafka, createTopics, headerString, readAll, type CleanupRegistry, type ReadMessage } from '../../support/kafka.js';
import { testBrokers, testTopics, type TestTopics } from '../support/app.js';

export interface ReplayTopics extends TestTopics {
  /** Where the replay writes predictions (--to-topic). */
  target: string;
}

export function replayTopics(prefix: string): ReplayTopics {
  const topics = testTopics(prefix);
  return { ...topics, target: topics.output.replace(/-out$/, '-replayed') };
}

/** Input and target with `partitions` partitions, a one-partition DLQ (and the live output topic, for `run`). */
export async function createReplayTopics(topics: ReplayTopics, partitions: number, cleanup: CleanupRegistry): Promise<void> {
  await createTopics(
    testBrokers(),
    [
      { topic: topics.input, partitions },
      { topic: topics.output, partitions },
      { topic: topics.target, partitions },
      { topic: topics.dlq, partitions: 1 },
    ],
    cleanup,
  );
}

/** Sum of a topic's end offsets: with no transactions on it, the number of messages ever written. */
export async function messageCount(topic: string): Promise<number> {
  const admin = createKafka(testBrokers()).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The group's committed offsets on a topic, by partition ("-1": none). */
export async function committedOffsets(group: string, topic: string): Promise<Map<number, string>> {
  const admin = createKafka(testBrokers()).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

export interface Outcomes {
  predictions: ReadMessage[];
  deadLetters: ReadMessage[];
}

/** Reads what the replay wrote, to the topics' end: predictions on the target, dead letters on the DLQ (read_committed). */
export async function readOutcomes(topics: ReplayTopics): Promise<Outcomes> {
  const predictions = await readAll(testBrokers(), topics.target, { timeoutMs: 60_000 });
  const deadLetters = await readAll(testBrokers(), topics.dlq, { timeoutMs: 60_000 });
  return { predictions, deadLetters };
}

/**
 * Every input of `inputs` has exactly one outcome (with `allowRepeats`, at least one): predictions for the valid
 * ones, matching the borehole function within the model's accuracy, dead letters for the poison; nothing else.
 * Every outcome carries the replay id and the model version. Inputs in `keylessIds` were produced without a key.
 */
export function assertOutcomes(
  outputType: AvroType,
  inputs: DemoInputs,
  outcomes: Outcomes,
  replayId: string,
  options: { allowRepeats?: boolean; keylessIds?: ReadonlySet<string> } = {},
): void {
  const predictedIds: string[] = [];
  const ape: number[] = [];
  for (const m of outcomes.predictions) {
    const p = outputType.fromBuffer(m.value!) as { id: string; flow_rate: number; model_version: string };
    predictedIds.push(p.id);
    const derived = `${headerString(m.headers, Header.sourceTopic)}-${headerString(m.headers, Header.sourcePartition)}-${headerString(m.headers, Header.sourceOffset)}`;
    const expectedKey = options.keylessIds?.has(p.id) ? derived : p.id;
    assert.equal(m.key?.toString(), expectedKey, 'prediction keyed by the input key, or <topic>-<partition>-<offset> for a keyless input');
    assert.equal(headerString(m.headers, Header.replay), replayId);
    assert.equal(headerString(m.headers, Header.modelVersion), p.model_version);
    const input = inputs.valid.get(p.id);
    assert.ok(input, `prediction for an id that is not a valid input of the range: ${p.id}`);
    const truth = borehole(input);
    ape.push(Math.abs(p.flow_rate - truth) / truth);
  }
  const deadIds = outcomes.deadLetters.map((m) => {
    assert.equal(headerString(m.headers, Header.replay), replayId);
    return m.key!.toString();
  });
  for (const id of deadIds) assert.ok(inputs.poison.has(id), `dead letter for an id that is not poison of the range: ${id}`);

  const predicted = new Set(predictedIds);
  const dead = new Set(deadIds);
  assert.equal(predicted.size, inputs.valid.size, 'one prediction per valid input');
  assert.equal(dead.size, inputs.poison.size, 'one dead letter per poison input');
  if (!options.allowRepeats) {
    assert.equal(predictedIds.length, predicted.size, 'no prediction twice');
    assert.equal(deadIds.length, dead.size, 'no dead letter twice');
  }
  const mape = ape.reduce((a, b) => a + b, 0) / Math.max(1, ape.length);
  assert.ok(mape <= 0.01, `MAPE ${mape} above 1%`);
  assert.ok(Math.max(...ape) < 0.1, `worst prediction off by ${Math.max(...ape)}`);
}
