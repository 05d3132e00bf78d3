/**
 * A native model call that never returns, for real (issue 15): an ONNX model whose onnxruntime call loops for days on
 * some rows (test/fixtures/models/hang-onnx, made by scripts/python/make_examples.py), served as `run` serves ONNX, in
 * a child process. Each call holding such a row is abandoned at INFERENCE_TIMEOUT_MS and its process killed and
 * replaced; bisection finds the rows, which are dead-lettered (infer / INFERENCE_TIMEOUT) while every other input is
 * predicted; the app stops gracefully and leaves no model process behind. (In a worker thread the call could not be
 * abandoned: the thread stays in native code and the process cannot exit, see test/unit/model/onnxHosted.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestTopics, testBrokers, testTopics } from '../integration/support/app.js';
import { BOREHOLE_RANGES, sampleBoreholeInputs } from '../../src/model/borehole.js';
import type { InputMessage } from '../../src/kafka/inputProducer.js';
import { ErrorCodes } from '../../src/errors.js';
import { modelHostChildren } from '../support/modelProcesses.js';
import { caughtUp, faultConfig, startApp } from './support/inprocess.js';
import { boreholeInputType, publish } from './support/inputs.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, PREDICTION, type Expected } from './support/tally.js';
import { attempt } from './support/wait.js';

const PARTITIONS = 2;
const VALID = 600;
/** Inputs whose rw (0.1495 m, inside the accepted range) sends the model's loop past 1e11 iterations. */
const HANGING = 3;

for (const mode of GUARANTEES) {
  test(`a native ONNX call that never returns: each abandoned at the timeout and its process replaced, the hanging rows dead-lettered, every other input predicted (${mode})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`native-hang-${mode}`);
    await createTestTopics(topics, PARTITIONS, t);
    const config = faultConfig(topics, mode, { model: 'test/fixtures/models/hang-onnx', 'max-batch-size': '64', 'inference-timeout-ms': '500' });

    const type = await boreholeInputType();
    // Valid inputs keep rw at or below 0.14 m, where the model answers at once; HANGING inputs have rw = 0.1495 m.
    const ranges = { ...BOREHOLE_RANGES, rw: [0.05, 0.14] as const };
    const expected = new Map<string, Expected>();
    const messages: InputMessage[] = sampleBoreholeInputs(VALID, 151, ranges).map((x, i) => {
      const id = `hang-${mode}-${i}`;
      expected.set(id, PREDICTION);
      return { key: Buffer.from(id), value: type.toBuffer({ ...x, id, event_time: Date.now() }) };
    });
    for (let i = 0; i < HANGING; i++) {
      const id = `hang-${mode}-hangs-${i}`;
      expected.set(id, { kind: 'deadLetter', stage: 'infer', code: ErrorCodes.INFERENCE_TIMEOUT });
      messages.splice(150 * (i + 1), 0, { key: Buffer.from(id), value: type.toBuffer({ ...sampleBoreholeInputs(1, i)[0], rw: 0.1495, id, event_time: Date.now() }) });
    }
    await publish(brokers, topics.input, messages, 100);

    const { app, stop } = await startApp(t, config);
    assert.equal(app.status().runtime, 'onnx-cpu');
    assert.equal(modelHostChildren().length, 1, 'the model runs in one child process');
    let stopCode: number | undefined;
    let modelCalls = 0;
    const failure = await attempt(async () => {
      modelCalls = (await caughtUp(app, brokers, PARTITIONS, 120_000)).counts.modelCalls;
      stopCode = await stop();
    });
    const left = modelHostChildren();
    const tally = await countAndReport({ scenario: 'native-onnx-hang', mode, brokers, topics, expected, started, failure, extra: { modelCalls, processesLeft: left.length } });
    assert.equal(stopCode, 0, 'graceful stop');
    assert.equal(tally.deadLetters, HANGING, 'only the hanging rows are dead-lettered');
    assert.equal(tally.wrongOutcome, 0, 'as infer / INFERENCE_TIMEOUT');
    assert.deepEqual(left, [], 'no model process outlives the app');
  });
}
