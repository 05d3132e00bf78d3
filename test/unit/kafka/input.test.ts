import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { POISON_KINDS } from '../../../src/demo/poison.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { rawAvroDecoder, type InputDecoder } from '../../../src/codec/inputDecoder.js';
import { RetryingHealth } from '../../../src/dependencyHealth.js';
import { Header } from '../../../src/kafka/headers.js';
import { kafkaFailure } from '../../../src/kafka/errors.js';
import { protocolError } from './kafkajsErrors.js';
import { scaleInput, unscaleOutput } from '../../../src/model/signature.js';
import { StubModel, boreholeSignature, goodBorehole, inputSchema, predictionSchema, silentLogger, waitFor } from '../support.js';
import { INTERACTIVE_WINDOW_MS } from '../../../src/kafka/intake.js';
import {
  DLQ,
  NOW,
  OUTPUT,
  StubProducers,
  StubSink,
  TOPIC,
  aborted,
  committedWithoutOutcome,
  fetchFourBehindAHeldWrite,
  fetchInChunks,
  goodInputs,
  header,
  lastPlusOne,
  mixedInputs,
  offsets,
  offsetsByPartition,
  sourceKey,
  sourceOffsets,
  startInput,
  within,
  type Fixtures,
} from './support.js';

let f: Fixtures;

before(async () => {
  f = { inType: await inputSchema(), outType: await predictionSchema(), signature: await boreholeSignature() };
});

describe('KafkaInput, at-least-once', () => {
  test('every input gets exactly one outcome, per-partition order kept, predictions and dead letters correct', within, async (t) => {
    const byPartition = [mixedInputs(f, 0, 0, 30), mixedInputs(f, 1, 1000, 25), mixedInputs(f, 2, 7, 28)];
    const inputs = byPartition.flat();
    const sink = new StubSink();
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 7 });
    const lost: string[] = [];
    h.consumer.onCommit = (positions) => lost.push(...committedWithoutOutcome(positions, sink, inputs));
    await fetchInChunks(h, byPartition, 6);
    await h.input.drain();
    assert.deepEqual(lost, [], 'offsets committed before their outcome was acknowledged');

    // exactly one outcome per input
    assert.equal(sink.accepted.length, inputs.length);
    assert.deepEqual(new Set(sink.accepted.map(sourceKey)), new Set(inputs.map((i) => `${i.record.partition}:${i.record.offset}`)));

    // per-partition order of source offsets
    const order = offsetsByPartition(sink.accepted);
    for (const partitionInputs of byPartition) {
      const p = partitionInputs[0]!.record.partition;
      assert.deepEqual(order.get(p), partitionInputs.map((i) => i.record.offset), `partition ${p} order`);
    }

    const { signature, inType, outType } = f;
    const byKey = new Map(sink.accepted.map((m) => [sourceKey(m), m]));
    let predictions = 0;
    const deadLetterCodes = new Set<string>();
    for (const { record, expected } of inputs) {
      const what = `${record.partition}:${record.offset}`;
      const m = byKey.get(what)!;
      assert.deepEqual(m.key, record.key, `${what} key`);
      assert.equal(header(m, Header.sourceTopic), TOPIC);
      assert.equal(header(m, Header.modelVersion), signature.version);
      if (expected.kind === 'prediction') {
        predictions++;
        assert.equal(m.topic, OUTPUT, `${what} goes to the output topic`);
        const decoded = outType.fromBuffer(m.value!) as Record<string, unknown>;
        const decodedInput = inType.fromBuffer(record.value!) as Record<string, number>;
        const row0 = Math.fround(scaleInput(signature.inputs[0]!, decodedInput[signature.inputs[0]!.field]!));
        assert.deepEqual(
          { ...decoded },
          {
            id: expected.id,
            flow_rate: unscaleOutput(signature.outputs[0]!, h.model.rawOutputs(Float32Array.of(row0))[0]!),
            model_name: signature.name,
            model_version: signature.version,
            event_time: expected.eventTime,
            scored_at: NOW,
          },
          what,
        );
        assert.deepEqual(
          Object.keys(m.headers).sort(),
          [Header.modelVersion, Header.runtime, Header.sourceOffset, Header.sourcePartition, Header.sourceTopic],
          `${what}: lineage headers only`,
        );
      } else {
        deadLetterCodes.add(expected.code);
        assert.equal(m.topic, DLQ, `${what} goes to the dead-letter topic`);
        assert.deepEqual(m.value, record.value, `${what} keeps the original value`);
        assert.equal(m.timestamp, record.timestamp, `${what} keeps the original timestamp`);
        assert.equal(header(m, 'trace-id'), `trace-${what.replace(':', '-')}`, `${what} keeps the original headers`);
        assert.equal(header(m, Header.modelName), signature.name, `${what} names the model`);
        assert.equal(header(m, Header.errorStage), expected.stage, `${what} stage`);
        assert.equal(header(m, Header.errorCode), expected.code, `${what} code`);
        assert.ok(header(m, Header.errorMessage).length > 0, `${what} message`);
      }
    }
    assert.ok(predictions > 0 && predictions < inputs.length, 'the scenario has both kinds of outcome');
    assert.equal(deadLetterCodes.size, new Set([...POISON_KINDS.map((k) => k.code), ErrorCodes.INFERENCE_FAILED]).size, 'every poison kind was exercised');
    assert.ok(Math.max(...h.model.batchSizes) <= 7);

    assert.deepEqual(h.consumer.committed(), lastPlusOne(byPartition));
    assert.equal(h.input.inflight, 0);
  });

  test('offsets are committed only after the sink acknowledged their outcomes', within, async (t) => {
    const byPartition = [goodInputs(f, 0, 0, 5), mixedInputs(f, 1, 40, 6), goodInputs(f, 2, 9, 4)];
    const inputs = byPartition.flat();
    const lost: string[] = [];
    const sink = new StubSink({ onAttempt: () => lost.push(...committedWithoutOutcome(h.consumer.commits.flat(), sink, inputs)) });
    sink.block();
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 4 });
    h.consumer.onCommit = (positions) => lost.push(...committedWithoutOutcome(positions, sink, inputs));
    await fetchInChunks(h, byPartition, 3);
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(h.consumer.commits, [], 'nothing committed while the first send is unacknowledged');
    assert.equal(h.input.inflight, inputs.length);
    sink.unblock();
    const expected = lastPlusOne(byPartition);
    await waitFor(() => JSON.stringify(h.consumer.committed()) === JSON.stringify(expected), { what: 'every partition committed to its end' });
    assert.equal(sink.accepted.length, inputs.length);
    await h.input.drain();
    assert.deepEqual(lost, []);
  });

  test('a sink that fails twice then succeeds: nothing committed before, everything after, no duplicates', within, async (t) => {
    const byPartition = [mixedInputs(f, 0, 0, 4), goodInputs(f, 1, 0, 4), goodInputs(f, 2, 0, 4)];
    const snapshots: string[] = [];
    const writable: boolean[] = [];
    const sink = new StubSink({
      failWhen: (attempt) => attempt <= 2,
      onAttempt: () => {
        snapshots.push(JSON.stringify(h.consumer.commits));
        writable.push(h.input.checks().outputWritable!);
      },
    });
    const h = await startInput(t, f, { output: { sink } });
    await fetchInChunks(h, byPartition, 4);
    await h.input.drain();

    assert.equal(sink.failures, 2);
    assert.deepEqual(snapshots, ['[]', '[]', '[]'], 'one write, three attempts, nothing committed before the third succeeded');
    assert.deepEqual(h.consumer.committed(), lastPlusOne(byPartition));
    const keys = sink.accepted.map(sourceKey);
    assert.equal(keys.length, 12);
    assert.equal(new Set(keys).size, 12, 'no duplicates');
    for (const [p, written] of offsetsByPartition(sink.accepted)) assert.deepEqual(written, ['0', '1', '2', '3'], `partition ${p}`);
    assert.deepEqual(writable, [true, false, false], 'not writable while retrying a failed write');
    assert.equal(h.input.checks().outputWritable, true, 'writable again once the write succeeded');
  });

  test('a write left unanswered for stallMs: outputWritable false until it settles', within, async (t) => {
    let now = NOW;
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink, health: { stallMs: 5000, now: () => now } } });
    await h.fetch(goodInputs(f, 0, 0, 4));
    await waitFor(() => sink.held === 1, { what: 'the send is held' });
    now += 4999;
    assert.equal(h.input.checks().outputWritable, true, 'not before stallMs');
    now += 1;
    assert.equal(h.input.checks().outputWritable, false, 'unanswered for stallMs');
    sink.unblock();
    await h.input.drain();
    assert.equal(h.input.checks().outputWritable, true, 'answered');
    assert.equal(sink.accepted.length, 4);
  });

  test('backpressure: the consumer is paused at maxInflightRecords and resumed once outcomes are acknowledged', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 25);
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink }, maxInflightRecords: 10, maxBatchSize: 5 });
    for (let i = 0; i < 25; i += 5) await h.fetch(inputs.slice(i, i + 5));
    assert.deepEqual(h.consumer.pauses, [true]);
    assert.equal(h.input.paused, true);
    assert.equal(h.input.inflight, 25);
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(h.consumer.pauses, [true], 'still paused while nothing is acknowledged');
    sink.unblock();
    await waitFor(() => h.input.inflight === 0, { what: 'everything acknowledged' });
    assert.deepEqual(h.consumer.pauses, [true, false]);
    assert.equal(h.input.paused, false);
    assert.equal(sink.accepted.length, 25);
    await h.input.drain();
  });

  test('while urgent (HTTP) rows come in, the bound is interactiveInflightRecords; a second after the last, maxInflightRecords again', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 30);
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink }, maxInflightRecords: 100, interactiveInflightRecords: 10, maxBatchSize: 5 });
    for (let i = 0; i < 15; i += 5) await h.fetch(inputs.slice(i, i + 5));
    assert.deepEqual(h.consumer.pauses, [], 'no HTTP rows: 15 in flight is under maxInflightRecords');
    let answered = false;
    h.scorer.submit({ inputs: [{ id: 'http-0', event_time: NOW, ...goodBorehole(1) }], urgent: true, source: 'http', done: () => (answered = true) });
    await waitFor(() => answered, { what: 'the HTTP row answered' });
    await h.fetch(inputs.slice(15, 20));
    assert.deepEqual(h.consumer.pauses, [true], 'paused: 20 in flight is over the bound while HTTP rows come in');
    sink.unblock();
    await waitFor(() => h.input.inflight === 0, { what: 'everything acknowledged' });
    assert.deepEqual(h.consumer.pauses, [true, false]);
    sink.block();
    await waitFor(() => performance.now() - h.scorer.lastUrgentAt > INTERACTIVE_WINDOW_MS, { what: 'a second without HTTP rows', timeoutMs: 5000 });
    for (let i = 20; i < 30; i += 5) await h.fetch(inputs.slice(i, i + 5));
    assert.deepEqual(h.consumer.pauses, [true, false], 'no HTTP rows for a second: back to maxInflightRecords');
    sink.unblock();
    await h.input.drain();
    assert.equal(sink.accepted.length, 30);
  });

  test('a model that fails every row: nothing written or committed, the consumer paused; all scored once it works again', within, async (t) => {
    let broken = false;
    const model = new StubModel({ signature: f.signature, failsOn: () => broken });
    const sink = new StubSink();
    const h = await startInput(t, f, { output: { sink }, model });
    broken = true;
    await h.fetch(goodInputs(f, 0, 0, 5));
    await waitFor(() => h.consumer.pauses.length === 1, { what: 'the input to pause' });
    assert.deepEqual(h.consumer.pauses, [true], 'fetching pauses while the model fails');
    await waitFor(() => model.batchSizes.length >= 4, { what: 'the model to be tried again' });
    assert.equal(sink.accepted.length, 0, 'no outcome, no dead letter, while the model fails');
    assert.deepEqual(h.consumer.commits, [], 'nothing committed past the failure');
    broken = false;
    await waitFor(() => sink.accepted.length === 5, { what: 'the outcomes once the model works' });
    assert.ok(sink.accepted.every((m) => m.topic === OUTPUT), 'every input predicted, none dead-lettered');
    assert.deepEqual(h.consumer.pauses, [true, false], 'and fetching resumed');
    await h.input.drain();
    assert.deepEqual(h.consumer.commits.at(-1), [{ topic: TOPIC, partition: 0, offset: '5' }]);
  });

  test('outcomes scored while a send runs go out together in the next send, in order', within, async (t) => {
    const sends: string[][] = [];
    const sink = new StubSink({ onAttempt: (messages) => sends.push(sourceOffsets(messages)) });
    sink.block();
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 4 });
    await fetchFourBehindAHeldWrite(h, goodInputs(f, 0, 0, 20), () => sink.held === 1);
    sink.unblock();
    await h.input.drain();
    assert.deepEqual(sends, [offsets(0, 4), offsets(4, 20)], 'one send for the first batch, one for the four behind it');
    assert.deepEqual(h.consumer.committed(), { 0: '20' });
  });

  test('a prediction too large for the output topic becomes an OUTCOME_TOO_LARGE dead letter; the stream goes on', within, async (t) => {
    const sink = new StubSink();
    // no prediction (≈ 110-byte value + lineage) fits 200 bytes
    const h = await startInput(t, f, { output: { sink }, maxMessageBytes: { output: 200, deadLetter: 1_048_588 } });
    await h.fetch(goodInputs(f, 0, 0, 6));
    await h.input.drain();
    assert.equal(sink.accepted.length, 6);
    for (const m of sink.accepted) {
      assert.equal(m.topic, DLQ);
      assert.equal(header(m, Header.errorCode), ErrorCodes.OUTCOME_TOO_LARGE);
      assert.equal(header(m, Header.errorStage), 'encode');
      assert.match(header(m, Header.errorMessage), /predictions's max\.message\.bytes \(200\)/);
    }
    assert.deepEqual(h.consumer.committed(), { 0: '6' });
  });

  test('drain() resolves only after everything is acknowledged and committed', within, async (t) => {
    const byPartition = [goodInputs(f, 0, 0, 6), mixedInputs(f, 1, 0, 6), goodInputs(f, 2, 0, 6)];
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 4, maxBatchDelayMs: 60_000, commitIntervalMs: 60_000 });
    await fetchInChunks(h, byPartition, 6);
    let drained = false;
    const draining = h.input.drain().then(() => void (drained = true));
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.equal(drained, false);
    sink.unblock();
    await draining;
    assert.equal(sink.accepted.length, 18);
    assert.equal(h.input.inflight, 0);
    assert.deepEqual(h.consumer.committed(), lastPlusOne(byPartition));
  });

  test('drain() with nothing fetched resolves', within, async (t) => {
    const sink = new StubSink();
    const h = await startInput(t, f, { output: { sink } });
    await h.input.drain();
    assert.equal(sink.attempts, 0);
    assert.deepEqual(h.consumer.commits, []);
  });

  test('abort() during failing sends leaves those offsets uncommitted', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 12);
    const sink = new StubSink({ failWhen: (attempt) => attempt >= 2 });
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 5 });
    await h.fetch(inputs.slice(0, 5));
    await waitFor(() => h.consumer.committed()[0] === '5', { what: 'the first batch committed' });
    await h.fetch(inputs.slice(5, 10));
    await h.fetch(inputs.slice(10));
    await waitFor(() => sink.failures >= 3, { what: 'the next write to fail repeatedly' });
    h.input.abort();
    await h.input.drain();
    assert.deepEqual(sourceOffsets(sink.accepted), offsets(0, 5));
    assert.deepEqual(h.consumer.committed(), { 0: '5' });
    assert.equal(h.input.status().find((s) => s.partition === 0)!.inflight, 7, 'the unwritten records still have no outcome');
  });

  test('a write refused for good (AUTHORIZATION_FAILED) is not retried: reported once, unwritable, later writes not tried, nothing committed past what was written', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 15);
    const refused = kafkaFailure(protocolError('TOPIC_AUTHORIZATION_FAILED', 29), { operation: 'write', topics: [OUTPUT] }, { code: ErrorCodes.PRODUCE_FAILED, message: 'x' });
    const sink = new StubSink({ failWhen: (attempt) => attempt >= 2, error: () => refused });
    const fatal: Error[] = [];
    const h = await startInput(t, f, { output: { sink }, maxBatchSize: 5, onFatal: (err) => fatal.push(err) });
    await h.fetch(inputs.slice(0, 5));
    await waitFor(() => h.consumer.committed()[0] === '5', { what: 'the first batch committed' });
    await h.fetch(inputs.slice(5, 10));
    await waitFor(() => fatal.length > 0, { what: 'the refusal reported' });
    await h.fetch(inputs.slice(10));
    await h.input.drain();
    assert.deepEqual(fatal, [refused], 'reported once, as the named error');
    assert.match(refused.message, new RegExp(`not authorized to write topic "${OUTPUT}"`));
    assert.equal(sink.attempts, 2, 'neither retried nor followed by another write');
    assert.equal(h.input.checks().outputWritable, false, 'unwritable for good');
    assert.deepEqual(sourceOffsets(sink.accepted), offsets(0, 5));
    assert.deepEqual(h.consumer.committed(), { 0: '5' }, 'nothing committed past what was written');
  });

  test('records fetched again while in flight are skipped: still one outcome each', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 6);
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink } });
    await h.fetch(inputs.slice(0, 4));
    await h.fetch(inputs); // a rebalance re-delivers 0..3 along with 4..5
    assert.equal(h.input.inflight, 6);
    sink.unblock();
    await h.input.drain();
    assert.deepEqual(sourceOffsets(sink.accepted), offsets(0, 6));
    assert.deepEqual(h.consumer.committed(), { 0: '6' });
  });

  test('a passed-over control record moves the committed position past it once earlier outcomes are acknowledged', within, async (t) => {
    const sink = new StubSink();
    sink.block();
    const h = await startInput(t, f, { output: { sink } });
    await h.fetch(goodInputs(f, 0, 0, 3));
    h.consumer.handler!.empty({ topic: TOPIC, partition: 0 }, '3', '4'); // a batch of only a transaction marker
    await h.fetch(goodInputs(f, 1, 0, 3), '3'); // a transaction marker after the batch's last record
    await waitFor(() => sink.held > 0, { what: 'a send to reach the blocked sink' });
    assert.deepEqual(h.consumer.commits, []);
    sink.unblock();
    await h.input.drain();
    assert.deepEqual(h.consumer.committed(), { 0: '4', 1: '4' });
    assert.equal(sink.accepted.length, 6, 'a control record has no outcome');
  });
});

describe('KafkaInput, exactly-once', () => {
  test('each partition commits its own outcomes, in order, with the next offset', within, async (t) => {
    const byPartition = [mixedInputs(f, 0, 0, 9), goodInputs(f, 1, 100, 6)];
    const producers = new StubProducers();
    const h = await startInput(t, f, { output: { producers }, maxBatchSize: 4 });
    await fetchInChunks(h, byPartition, 5);
    await h.input.drain();
    const expected = lastPlusOne(byPartition);
    for (const inputs of byPartition) {
      const p = inputs[0]!.record.partition;
      const commits = producers.committed.filter((c) => c.source.partition === p);
      assert.deepEqual(sourceOffsets(commits.flatMap((c) => c.messages)), inputs.map((i) => i.record.offset), `partition ${p}`);
      for (const c of commits) assert.equal(c.nextOffset, String(Number(header(c.messages.at(-1)!, Header.sourceOffset)) + 1));
      assert.equal(h.input.status().find((s) => s.partition === p)!.committedOffset, expected[p]);
    }
    assert.deepEqual(h.consumer.commits, [], 'offsets are committed in the transactions, never by the consumer');
  });

  test('outcomes scored while a transaction runs commit together in the next one, in order, with the next offset', within, async (t) => {
    const producers = new StubProducers();
    producers.block();
    const h = await startInput(t, f, { output: { producers }, maxBatchSize: 4 });
    await fetchFourBehindAHeldWrite(h, goodInputs(f, 0, 0, 20), () => producers.held === 1);
    producers.unblock();
    await h.input.drain();
    assert.deepEqual(
      producers.committed.map((c) => [sourceOffsets(c.messages), c.nextOffset]),
      [[offsets(0, 4), '4'], [offsets(4, 20), '20']],
      'one transaction for the first batch, one for the four behind it',
    );
    assert.equal(h.input.status()[0]!.committedOffset, '20');
  });

  test('a transaction that committed but whose answer was lost is not written again; the next one is', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 10);
    // Attempts 1 and 2 commit (1 answered, 2 not); the retry of 2 must find it committed and not write it.
    const producers = new StubProducers(undefined, (_, attempt) => attempt === 2);
    const h = await startInput(t, f, { output: { producers }, maxBatchSize: 5 });
    await h.fetch(inputs.slice(0, 5));
    await waitFor(() => producers.committed.length === 1, { what: 'the first transaction committed' });
    const claimed = producers.fences;
    await h.fetch(inputs.slice(5));
    await h.input.drain();
    assert.equal(producers.answersLost, 1);
    assert.deepEqual(
      producers.committed.map((c) => [sourceOffsets(c.messages), c.nextOffset]),
      [[offsets(0, 5), '5'], [offsets(5, 10), '10']],
      'each outcome written once',
    );
    assert.equal(producers.fences, claimed + 1, 'the partition fenced again before the committed offset was read back');
    assert.equal(h.input.status()[0]!.committedOffset, '10');
  });

  test('a zombie retrying a failed transaction after a new owner committed part of its range writes nothing again: fenced, the partition dropped', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 10);
    let producers: StubProducers;
    // Attempt 1 fails; meanwhile another owner claimed the partition and committed inputs 0–3.
    producers = new StubProducers((_, attempt) => {
      if (attempt !== 1) return null;
      producers.elsewhere.set(0, '4');
      return aborted(attempt);
    });
    const h = await startInput(t, f, { output: { producers }, maxBatchSize: 10, rejoinAfterFenceMs: 20 });
    await h.fetch(inputs);
    await waitFor(() => h.consumer.rejoins === 1, { what: 'the partition dropped as fenced, and the consumer asked to rejoin' });
    assert.equal(producers.attempts, 1, 'the outcomes were not written again');
    assert.equal(producers.committed.length, 0);
  });

  test('abort() during failing transactions leaves those offsets uncommitted', within, async (t) => {
    const inputs = goodInputs(f, 0, 0, 12);
    const producers = new StubProducers((_, attempt) => (attempt >= 2 ? aborted(attempt) : null));
    const h = await startInput(t, f, { output: { producers }, maxBatchSize: 5 });
    await h.fetch(inputs.slice(0, 5));
    await waitFor(() => producers.committed.length === 1, { what: 'the first transaction committed' });
    await h.fetch(inputs.slice(5, 10));
    await h.fetch(inputs.slice(10));
    await waitFor(() => producers.failures >= 3, { what: 'the next transaction to fail repeatedly' });
    h.input.abort();
    await h.input.drain();
    assert.deepEqual(sourceOffsets(producers.committed.flatMap((c) => c.messages)), offsets(0, 5));
    const status = h.input.status()[0]!;
    assert.equal(status.committedOffset, '5');
    assert.equal(status.inflight, 7, 'the unwritten records still have no outcome');
    assert.deepEqual(h.consumer.commits, [], 'nothing for the consumer to commit on shutdown either');
  });

  test('a partition fenced by a newer owner (PRODUCER_FENCED) drops its outcomes; other partitions commit', within, async (t) => {
    const fenced = new StreamserveError(ErrorCodes.PRODUCER_FENCED, 'another owner took over');
    const producers = new StubProducers((commit) => (commit.source.partition === 1 ? fenced : null));
    const h = await startInput(t, f, { output: { producers } });
    await h.fetch(goodInputs(f, 0, 0, 4));
    await h.fetch(goodInputs(f, 1, 0, 4));
    await h.input.drain();
    assert.deepEqual(
      producers.committed.map((c) => [c.source.partition, sourceOffsets(c.messages), c.nextOffset]),
      [[0, offsets(0, 4), '4']],
    );
    assert.equal(producers.failures, 1, 'a fenced transaction is not retried');
    const [p0, p1] = [0, 1].map((p) => h.input.status().find((s) => s.partition === p)!);
    assert.equal(p0!.committedOffset, '4');
    assert.equal(p1!.committedOffset, null, 'nothing committed for the fenced partition');
    assert.equal(p1!.inflight, 0, 'its outcomes were dropped, not kept for a retry');
    assert.equal(h.input.inflight, 0);
    assert.equal(h.input.checks().outputWritable, true, 'a fence is not an output failure');

    // A batch of the lost partition fetched before the rebalance is not taken: no commit may pass over 0–3.
    await h.fetch(goodInputs(f, 1, 4, 4));
    await h.input.drain();
    assert.deepEqual(producers.committed.map((c) => c.source.partition), [0], 'nothing of the fenced partition is committed later');
    assert.equal(h.input.status().find((s) => s.partition === 1)!.committedOffset, null);
  });

  test('a partition fenced without a rebalance (a coordinator that aborted its transaction on timeout) is read again: the consumer rejoins, the new assignment claims it anew', within, async (t) => {
    let fences = 1;
    const fenced = new StreamserveError(ErrorCodes.PRODUCER_FENCED, 'epoch bumped by the coordinator');
    const producers = new StubProducers((commit) => (commit.source.partition === 1 && fences-- > 0 ? fenced : null));
    const h = await startInput(t, f, { output: { producers }, rejoinAfterFenceMs: 20 });
    await h.fetch(goodInputs(f, 1, 0, 4));
    await waitFor(() => h.consumer.rejoins === 1, { what: 'the consumer asked to rejoin the group' });
    assert.equal(producers.committed.length, 0, 'nothing of the fenced partition committed before it is claimed again');
    const claims = producers.fences;
    // The rejoin's assignment keeps the partition; kafkajs fetches it again from its committed offset (none: 0).
    h.consumer.options.onAssigned([0, 1, 2].map((partition) => ({ topic: TOPIC, partition })));
    await h.fetch(goodInputs(f, 1, 0, 4));
    await h.input.drain();
    assert.equal(producers.fences, claims + 1, 'claimed again: fenced anew before its records were taken');
    assert.deepEqual(producers.committed.map((c) => [c.source.partition, sourceOffsets(c.messages), c.nextOffset]), [[1, offsets(0, 4), '4']], 'every input of it written once, after the rejoin');
  });

  test('a partition fenced by a newer owner and revoked by the rebalance that follows: no rejoin', within, async (t) => {
    const fenced = new StreamserveError(ErrorCodes.PRODUCER_FENCED, 'another owner took over');
    const producers = new StubProducers((commit) => (commit.source.partition === 1 ? fenced : null));
    const h = await startInput(t, f, { output: { producers }, rejoinAfterFenceMs: 50 });
    await h.fetch(goodInputs(f, 1, 0, 4));
    await waitFor(() => producers.failures === 1, { what: 'the fenced transaction' });
    h.consumer.options.onAssigned([0, 2].map((partition) => ({ topic: TOPIC, partition })));
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(h.consumer.rejoins, 0, 'the rebalance took the partition away: nothing to read again');
  });

  test('a transaction refused for good (TRANSACTIONAL_ID_AUTHORIZATION_FAILED) is not fencing: reported once, not retried, nothing more written', within, async (t) => {
    const refused = kafkaFailure(protocolError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53), { operation: 'write', transactionalId: 'g-inputs-1' }, { code: ErrorCodes.PRODUCE_FAILED, message: 'x' });
    assert.equal(refused.code, ErrorCodes.AUTHORIZATION_FAILED);
    const producers = new StubProducers((commit) => (commit.source.partition === 1 ? refused : null));
    const fatal: Error[] = [];
    const h = await startInput(t, f, { output: { producers }, onFatal: (err) => fatal.push(err) });
    await h.fetch(goodInputs(f, 0, 0, 4));
    await waitFor(() => producers.committed.length === 1, { what: 'partition 0 committed' });
    await h.fetch(goodInputs(f, 1, 0, 4));
    await waitFor(() => fatal.length > 0, { what: 'the refusal reported' });
    await h.fetch(goodInputs(f, 0, 4, 4));
    await h.input.drain();
    assert.deepEqual(fatal, [refused]);
    assert.equal(producers.failures, 1, 'not retried');
    assert.deepEqual(producers.committed.map((c) => [c.source.partition, c.nextOffset]), [[0, '4']], 'nothing written after the refusal');
    assert.equal(h.input.status().find((s) => s.partition === 1)!.committedOffset, null);
    assert.equal(h.input.status().find((s) => s.partition === 0)!.committedOffset, '4');
    assert.equal(h.input.checks().outputWritable, false, 'unlike a fence, a refusal is an output failure');
  });

  test('passed-over control records are committed: with later outcomes, or alone in an offsets-only transaction', within, async (t) => {
    const producers = new StubProducers();
    const h = await startInput(t, f, { output: { producers } });
    await h.fetch(goodInputs(f, 0, 0, 3));
    await h.input.drain();
    h.consumer.handler!.empty({ topic: TOPIC, partition: 0 }, '3', '4');
    await h.input.drain();
    assert.deepEqual(
      producers.committed.map((c) => [sourceOffsets(c.messages), c.nextOffset]),
      [[offsets(0, 3), '3'], [[], '4']],
    );
    assert.equal(h.input.status()[0]!.committedOffset, '4');
  });
});

describe('KafkaInput, a decoder whose dependency is down', () => {
  test('the batch is not taken, nothing written, the input paused and readiness names it; resumed once healthy, the batch is taken again', within, async (t) => {
    const raw = rawAvroDecoder(f.inType);
    const health = new RetryingHealth({ name: 'schemaRegistryReachable', logger: silentLogger, backoffMs: 1 });
    t.after(() => health.close());
    let registryUp = false;
    const decoder: InputDecoder = {
      health,
      decode: (value) => {
        if (registryUp) return Promise.resolve(raw.decode(value));
        health.failed(new Error('registry down'), () => (registryUp ? Promise.resolve() : Promise.reject(new Error('still down'))));
        return Promise.reject(new Error('registry down'));
      },
      close: () => health.close(),
    };
    const sink = new StubSink();
    const h = await startInput(t, f, { output: { sink }, decoder });
    const batch = goodInputs(f, 0, 0, 5);
    assert.equal(await h.offer(batch), false, 'not taken: kafkajs fetches it again');
    assert.equal(h.consumer.paused, true, 'paused while the dependency is down');
    assert.equal(h.input.checks().schemaRegistryReachable, false);
    assert.equal(h.input.inflight, 0);
    await h.input.drain();
    assert.equal(sink.accepted.length, 0, 'nothing dead-lettered, nothing written');
    assert.deepEqual(h.consumer.commits, [], 'nothing committed');

    registryUp = true;
    await waitFor(() => !h.consumer.paused, { what: 'resumed by itself once the dependency answers' });
    assert.equal(h.input.checks().schemaRegistryReachable, true);
    await h.fetch(batch);
    await h.input.drain();
    assert.deepEqual(sink.accepted.map(sourceKey), batch.map((i) => `0:${i.record.offset}`), 'every input scored once');
    assert.ok(sink.accepted.every((m) => m.topic === OUTPUT));
  });

  test('a dependency that refuses us (a fatal error): reported once through onFatal, the batch not taken, nothing written or committed past what was', within, async (t) => {
    const raw = rawAvroDecoder(f.inType);
    const health = new RetryingHealth({ name: 'schemaRegistryReachable', logger: silentLogger, backoffMs: 1 });
    t.after(() => health.close());
    let refusing = false;
    const decoder: InputDecoder = {
      health,
      decode: (value) =>
        refusing
          ? Promise.reject(new StreamserveError(ErrorCodes.AUTHORIZATION_FAILED, 'the Schema Registry at http://r refused access (HTTP 403)'))
          : Promise.resolve(raw.decode(value)),
      close: () => health.close(),
    };
    const sink = new StubSink();
    const fatal: Error[] = [];
    const h = await startInput(t, f, { output: { sink }, decoder, onFatal: (err) => fatal.push(err) });
    const first = goodInputs(f, 0, 0, 5);
    await h.fetch(first);
    await h.input.drain();
    assert.deepEqual(sink.accepted.map(sourceKey), first.map((i) => `0:${i.record.offset}`));

    refusing = true;
    const second = goodInputs(f, 0, 5, 5);
    assert.equal(await h.offer(second), false, 'not taken');
    assert.equal(await h.offer(goodInputs(f, 1, 0, 3)), false, 'nor any other batch that needs the registry');
    assert.deepEqual(fatal.map((e) => (e as StreamserveError).code), [ErrorCodes.AUTHORIZATION_FAILED], 'reported once');
    assert.equal(h.input.checks().schemaRegistryReachable, true, 'not an outage: the registry answered');
    assert.equal(h.input.inflight, 0);
    await h.input.drain();
    assert.equal(sink.accepted.length, first.length, 'nothing more written, nothing dead-lettered');
    const committed = h.consumer.commits.flat();
    assert.equal(Math.max(...committed.filter((c) => c.partition === 0).map((c) => Number(c.offset))), 5, 'committed up to what was written, not past it');
    assert.ok(committed.every((c) => c.partition === 0), 'nothing committed on the partition never written');
  });
});
