/**
 * The ONNX runtime off the main thread. In worker threads (onnxruntime has crashed in them:
 * microsoft/onnxruntime#24486): one worker, two at once, a worker replaced several times, each predicting what the
 * runtime predicts on this thread. In a child process (how `run` hosts it): the same values, and a native call that
 * never returns abandoned at the inference timeout, its process killed and replaced, the next call answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleBoreholeInputs } from '../../../src/model/borehole.js';
import type { ModelRuntime } from '../../../src/model/model.js';
import { loadOffThread } from '../../../src/model/offThread.js';
import { loadProcessModel } from '../../../src/model/processModel.js';
import { loadRuntime } from '../../../src/model/runtimes.js';
import { scaleInput } from '../../../src/model/signature.js';
import { loadWorkerModel } from '../../../src/model/workerModel.js';
import { InferenceTimeout, callModel } from '../../../src/scorer/modelCall.js';
import { modelHostChildren } from '../../support/modelProcesses.js';

const ONNX = 'weights/borehole-onnx/1.0.0';
const HANG = 'test/fixtures/models/hang-onnx';

function boreholeRows(model: ModelRuntime, count: number, seed: number): Float32Array {
  const inputs = sampleBoreholeInputs(count, seed);
  const rows = new Float32Array(count * model.inputWidth);
  inputs.forEach((x, i) => model.signature.inputs.forEach((c, j) => (rows[i * model.inputWidth + j] = scaleInput(c, x[c.field as keyof typeof x]))));
  return rows;
}

test('ONNX in a worker thread, in two concurrent workers and in a worker replaced three times predicts what it predicts on this thread', async (t) => {
  const local = await loadRuntime({ dir: ONNX });
  t.after(() => local.close());
  const rows = boreholeRows(local, 512, 7);
  const want = [...(await local.predict(rows, 512))];

  const [a, b] = await Promise.all([loadWorkerModel({ dir: ONNX, logLevel: 'silent' }), loadWorkerModel({ dir: ONNX, logLevel: 'silent' })]);
  t.after(() => Promise.all([a.close(), b.close()]));
  assert.equal(a.runtime, 'onnx-cpu');
  const calls = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).predict(rows, 512)));
  for (const out of calls) assert.deepEqual([...out], want);

  for (let i = 0; i < 3; i++) {
    await a.restart!();
    assert.deepEqual([...(await a.predict(rows, 512))], want, `after restart ${i + 1}`);
  }
});

test('run hosts ONNX in a child process (the same values), and the other runtimes in a worker thread', async (t) => {
  const local = await loadRuntime({ dir: ONNX });
  t.after(() => local.close());
  const hosted = await loadOffThread({ dir: ONNX, logLevel: 'silent' });
  t.after(() => hosted.close());
  assert.equal(hosted.runtime, 'onnx-cpu');
  assert.equal(modelHostChildren().length, 1, 'one model process');
  const rows = boreholeRows(local, 300, 8);
  assert.deepEqual([...(await hosted.predict(rows, 300))], [...(await local.predict(rows, 300))]);

  const npz = await loadOffThread({ dir: 'weights/borehole-npz/1.0.0', logLevel: 'silent' });
  t.after(() => npz.close());
  assert.equal(npz.runtime, 'numpy-tfjs-wasm');
  assert.equal(modelHostChildren().length, 1, 'the NumPy model runs in a worker thread, not a process');
});

test('a native ONNX call that never returns: abandoned at the timeout, its process killed, a new one answers; close leaves no process', async (t) => {
  const model = await loadProcessModel({ dir: HANG, logLevel: 'silent' });
  let closed = false;
  t.after(() => (closed ? undefined : model.close()));
  const width = model.inputWidth;
  const fine = new Float32Array(4 * width); // zeros: the loop runs 0 times
  assert.equal((await model.predict(fine, 4)).length, 4);
  const [first] = modelHostChildren();
  assert.ok(first !== undefined, 'the model runs in a child process');

  const hangs = new Float32Array(2 * width);
  hangs[width] = 1; // the second row's first column is above 0.9: the call runs for days
  const started = Date.now();
  await assert.rejects(callModel(model, hangs, 2, 500), (err: unknown) => err instanceof InferenceTimeout);
  assert.ok(Date.now() - started < 10_000, 'the timeout held');
  const now = modelHostChildren();
  assert.equal(now.includes(first), false, 'the hung process is gone (killed)');
  assert.equal(now.length, 1, 'one new model process');
  assert.equal((await callModel(model, fine, 4, 5000)).length, 4, 'the new process answers');

  await model.close();
  closed = true;
  assert.deepEqual(modelHostChildren(), [], 'close leaves no model process');
});
