/**
 * A failing dependency is not poison (issue 13, model part), against the real broker with the real worker-thread
 * model: when the model fails every row mid-stream (the known-good row too), or its worker cannot be started again,
 * nothing is dead-lettered and nothing committed past the last prediction; /readyz answers 503 with modelHealthy
 * false within seconds and the input pauses; once the model works again it recovers by itself and every input is
 * scored (exactly once under exactly-once). A hung model call is abandoned at INFERENCE_TIMEOUT_MS, the worker
 * restarted, and every input still scored once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config/settings.js';
import type { RuntimeLoader } from '../../src/model/model.js';
import { loadOffThread } from '../../src/model/offThread.js';
import { createTestTopics, getText, metricValue, testBrokers, testTopics } from '../integration/support/app.js';
import { ControlledModel, type Fault } from './support/controlledModel.js';
import { caughtUp, faultConfig, startApp } from './support/inprocess.js';
import { demoInputs } from '../../src/demo/demoInputs.js';
import { boreholeInputType, publish } from './support/inputs.js';
import { wrappedLoader } from './support/models.js';
import { committedOffsets, committedOnly, committedWithoutPrediction, readyz, uncommitted } from './support/outage.js';
import { readOutcomes } from './support/read.js';
import { countAndReport } from './support/scenario.js';
import { GUARANTEES, PREDICTION, type Expected, type Guarantee, type Outcome } from './support/tally.js';
import { attempt, poll } from './support/wait.js';

const PARTITIONS = 3;
/** Published before the app starts; the fault begins once this many rows are scored, so the rest is mid-stream. */
const BEFORE = 3000;
const FAULT_AFTER_ROWS = 600;
/** Published while the model is down: none may be dead-lettered or committed (how many were taken in is reported). */
const DURING = 1000;
/** /readyz must answer 503 this soon after the model starts failing. */
const TO_503_MS = 5000;
/** Restarts the health loop tries (and, for the worker scenario, that fail) before the model may work again. */
const RESTARTS_DURING_OUTAGE = 3;
const HANGS = 3;
const FLAGS = { 'max-batch-size': '64' };

/** The model off the main thread as `run` loads it (INFERENCE_THREAD=worker): tfjs in a worker thread, ONNX in a process. */
function workerLoader(config: Config): RuntimeLoader {
  return (options) => loadOffThread({ ...options, logLevel: config.logLevel });
}

/** Each scenario runs on the TensorFlow.js example and on the same regressor exported from scikit-learn to ONNX. */
const MODELS = [
  { runtime: 'tfjs', dir: 'weights/borehole', artefact: 'model.json' },
  { runtime: 'onnx', dir: 'weights/borehole-onnx/1.0.0', artefact: 'model.onnx' },
] as const;

/**
 * Publishes `count` valid inputs in sends of 100, as a live stream arrives: small record batches, so the app fetches
 * and answers ~100 inputs at a time (a whole partition sent at once is one record batch, fetched and answered whole).
 */
async function streamInputs(brokers: string[], topic: string, count: number, seed: number, prefix: string, expected: Map<string, Expected>): Promise<void> {
  const inputs = demoInputs(await boreholeInputType(), count, { seed, poisonEvery: 0, prefix });
  for (const id of inputs.valid.keys()) expected.set(id, PREDICTION);
  await publish(brokers, topic, inputs.messages, 100);
}

const failEveryRow: Fault = {
  call: () => Promise.reject(new Error('test model: fails every row while switched on')),
};

for (const { runtime, dir: modelDir, artefact: artefactName } of MODELS) for (const mode of GUARANTEES) {
  const modelFlags = { model: modelDir };
  test(`a model that fails every row mid-stream, the known-good row too: paused, /readyz 503, nothing dead-lettered or committed past; recovers (${mode}, ${runtime})`, async (t) => {
    await modelOutage(t, mode, {
      scenario: `model-fails-every-row-${runtime}`,
      flags: modelFlags,
      startFault: (model) => model.setFault(failEveryRow),
      mayRecover: (model) => model.restarts >= RESTARTS_DURING_OUTAGE,
      endFault: (model) => model.setFault(null),
    });
  });

  test(`a model worker that cannot be started again: paused, /readyz 503, nothing dead-lettered or committed past; recovers by itself (${mode}, ${runtime})`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'streamserve-model-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(modelDir, dir, { recursive: true });
    const artefact = join(dir, artefactName);
    const away = join(dir, `${artefactName}.away`);
    let ownRestart: 'not tried' | 'succeeded' | 'failed' = 'not tried';
    await modelOutage(t, mode, {
      scenario: `model-worker-cannot-restart-${runtime}`,
      flags: { model: dir },
      // The artefact goes away and the running worker is replaced once: the new worker fails to load, so every call
      // fails until a restart finds the artefact again. Everything after that one restart is the real worker model.
      startFault: (model) => {
        renameSync(artefact, away);
        model.setFault({
          call: async (rows, count) => {
            model.setFault(null);
            await model.inner.restart!().then(
              () => (ownRestart = 'succeeded'),
              () => (ownRestart = 'failed'),
            );
            return model.inner.predict(rows, count);
          },
        });
      },
      mayRecover: (model) => model.failedRestarts >= RESTARTS_DURING_OUTAGE,
      endFault: () => renameSync(away, artefact),
      check: (model) => {
        assert.equal(ownRestart, 'failed', `the worker could not be started without its ${artefactName}`);
        assert.ok(model.failedRestarts >= RESTARTS_DURING_OUTAGE, `the health loop's restarts failed while ${artefactName} was away (${model.failedRestarts})`);
      },
    });
  });

  test(`a hung model call is abandoned at inference-timeout-ms, the worker restarted, every input scored once (${mode}, ${runtime})`, async (t) => {
    const started = Date.now();
    const brokers = testBrokers();
    const topics = testTopics(`hung-${mode}-${runtime}`);
    await createTestTopics(topics, PARTITIONS, t);
    const config = faultConfig(topics, mode, { ...FLAGS, ...modelFlags, 'inference-timeout-ms': '1000' });
    const expected = new Map<string, Expected>();
    await streamInputs(brokers, topics.input, BEFORE, 131, `hung-${mode}`, expected);

    let model: ControlledModel | undefined;
    let hung = 0;
    let endedByRestart = 0;
    const pending: ((err: Error) => void)[] = [];
    const { app, stop } = await startApp(
      t,
      config,
      wrappedLoader((inner) => {
        model = new ControlledModel(inner);
        // The next HANGS calls never answer by themselves; a restart ends the hung call, as a replaced worker does.
        model.startAfter(FAULT_AFTER_ROWS, (m) =>
          m.setFault({
            call: (rows, count) => {
              if (hung === HANGS) return m.inner.predict(rows, count);
              hung++;
              return new Promise<Float32Array>((_, reject) => pending.push(reject));
            },
            restarted: () => {
              for (const reject of pending.splice(0)) {
                endedByRestart++;
                reject(new Error('test model: hung call ended by the restart'));
              }
            },
          }),
        );
        return model;
      }, workerLoader(config)),
    );
    const m = model!;
    let stopCode: number | undefined;
    const failure = await attempt(async () => {
      await poll(() => hung === HANGS, { message: `${HANGS} model calls hung`, timeoutMs: 60_000, abort: () => failedApp(app.state) });
      await caughtUp(app, brokers, PARTITIONS, 60_000);
      stopCode = await stop();
    });
    const tally = await countAndReport({
      scenario: `model-call-hangs-${runtime}`,
      mode,
      brokers,
      topics,
      expected,
      started,
      failure,
      extra: { hung, endedByRestart, restarts: m.restarts, failedCalls: m.failedCalls },
    });
    assert.equal(stopCode, 0, 'graceful stop after the hung calls');
    assert.equal(tally.deadLetters, 0, 'a hung model is not poison: no dead letters');
    assert.equal(tally.lost, 0, 'every input has an outcome');
    assert.ok(m.restarts >= HANGS, `each timeout restarted the model (${m.restarts} restarts for ${HANGS} hung calls)`);
    assert.equal(endedByRestart, HANGS, 'every hung call was abandoned and ended by a restart of the worker');
  });
}

interface OutageOptions {
  scenario: string;
  flags?: Record<string, string>;
  /** Switches the fault on (called once, mid-stream, from inside the model call that crossed FAULT_AFTER_ROWS). */
  startFault: (model: ControlledModel) => void;
  /** When the outage has lasted long enough that the model may work again. */
  mayRecover: (model: ControlledModel) => boolean;
  endFault: (model: ControlledModel) => void;
  /** Scenario-specific assertions on the model, after the counts. */
  check?: (model: ControlledModel) => void;
}

/**
 * The common course of a model outage: inputs streaming through the real worker model, the fault switched on
 * mid-stream, the outage watched from outside (HTTP, committed offsets, both outcome topics), the fault switched off,
 * and every input's outcome counted at the end.
 */
async function modelOutage(t: TestContext, mode: Guarantee, o: OutageOptions): Promise<void> {
  const started = Date.now();
  const brokers = testBrokers();
  const topics = testTopics(`${o.scenario}-${mode}`);
  await createTestTopics(topics, PARTITIONS, t);
  // Fetches of ~100 inputs per partition (with the small record batches of streamInputs): the batches scored before
  // the fault are answered, written and committed. A partition fetched whole is one batch, answered only once every
  // row of it is scored: nothing would be committed before the fault and the commit check would compare nothing.
  const config = faultConfig(topics, mode, { ...FLAGS, 'max-bytes-per-partition': '16384', ...o.flags });
  const expected = new Map<string, Expected>();
  await streamInputs(brokers, topics.input, BEFORE, 113, `${o.scenario}-${mode}-a`, expected);

  let model: ControlledModel | undefined;
  const { app, stop } = await startApp(
    t,
    config,
    wrappedLoader((inner) => {
      model = new ControlledModel(inner);
      model.startAfter(FAULT_AFTER_ROWS, o.startFault);
      return model;
    }, workerLoader(config)),
  );
  const m = model!;
  const port = app.adminPort!;
  const abort = () => failedApp(app.state);
  const figures: Record<string, number | string | boolean> = {};
  let stopCode: number | undefined;

  const failure = await attempt(async () => {
    const faultAt = await poll(() => m.faultStartedAt, { message: 'the fault began mid-stream', timeoutMs: 60_000, abort });
    await poll(
      async () => {
        const r = await readyz(port);
        return r.status === 503 && r.checks.modelHealthy === false;
      },
      { message: '/readyz answers 503 with modelHealthy false', timeoutMs: 30_000, intervalMs: 50, abort },
    );
    const to503Ms = (figures.to503Ms = Date.now() - faultAt);
    assert.ok(to503Ms <= TO_503_MS, `/readyz reported the model outage within ${TO_503_MS} ms (took ${to503Ms} ms)`);

    await streamInputs(brokers, topics.input, DURING, 114, `${o.scenario}-${mode}-b`, expected);
    const recordsInAtPause = app.status().counts.recordsIn;
    await poll(() => o.mayRecover(m), { message: 'the health loop kept trying the model', timeoutMs: 30_000, abort });

    // The outage as a downstream reader and an operator see it. Offsets are fetched before the outcomes are read:
    // everything committed by then must have its prediction on the output topic.
    const before = await committedOffsets(brokers, topics.group, topics.input);
    const outcomes: Outcome[] = [];
    await readOutcomes(brokers, topics, (x) => outcomes.push(x), { timeoutMs: 30_000 });
    const after = await committedOffsets(brokers, topics.group, topics.input);
    const ready = await readyz(port);
    const status = app.status();
    const healthyGauge = metricValue(await getText(port, '/metrics'), 'streamserve_model_healthy');
    const missing = committedWithoutPrediction(before, outcomes);
    figures.outageOutcomes = outcomes.length;
    figures.outageUncommitted = uncommitted(after);
    figures.outageRecordsIn = status.counts.recordsIn - recordsInAtPause;
    assert.equal(outcomes.filter((x) => x.kind === 'deadLetter').length, 0, 'no dead letters while the model is down');
    const committedBefore = [...before.values()].reduce((sum, x) => sum + x.committed - x.low, 0);
    figures.outageCommitted = committedBefore;
    assert.ok(committedBefore > 0, 'inputs scored before the outage were committed (the check below compares something)');
    assert.deepEqual(missing.slice(0, 5), [], `committed past inputs without a prediction (${missing.length}, e.g. ${missing.slice(0, 5).join(', ')})`);
    assert.deepEqual(committedOnly(after), committedOnly(before), 'no commit advanced while the model was down');
    assert.ok(uncommitted(after) >= DURING, `the inputs sent during the outage stay uncommitted (${uncommitted(after)} uncommitted)`);
    assert.ok(outcomes.length < expected.size, 'the outage began before the stream was scored');
    assert.equal(ready.status, 503, '/readyz still 503 while the model fails');
    assert.equal(status.paused, true, 'the input is paused while the model fails');
    assert.equal(healthyGauge, 0, 'streamserve_model_healthy is 0 while the model fails');

    o.endFault(m);
    const endedAt = Date.now();
    await poll(async () => (await readyz(port)).status === 200, { message: '/readyz 200 again once the model works', timeoutMs: 30_000, intervalMs: 50, abort });
    figures.recoverMs = Date.now() - endedAt;
    const final = await caughtUp(app, brokers, PARTITIONS, 60_000);
    figures.modelFailures = final.counts.modelFailures;
    assert.ok(final.counts.modelFailures >= 1, '/status counts the model failure');
    stopCode = await stop();
  });
  const tally = await countAndReport({
    scenario: o.scenario,
    mode,
    brokers,
    topics,
    expected,
    started,
    failure,
    extra: { ...figures, restarts: m.restarts, failedRestarts: m.failedRestarts, failedCalls: m.failedCalls },
  });
  assert.equal(stopCode, 0, 'graceful stop after the outage');
  assert.equal(tally.deadLetters, 0, 'a failing model is not poison: no dead letters');
  assert.equal(tally.lost, 0, 'every input has an outcome after the model recovered');
  o.check?.(m);
}

function failedApp(state: string): string | undefined {
  return state === 'failed' ? 'the app failed' : undefined;
}
