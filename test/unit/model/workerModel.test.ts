import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWorkerModel } from '../../../src/model/workerModel.js';
import { loadModel } from '../../../src/model/tfjsModel.js';
import { sampleBoreholeInputs } from '../../../src/model/borehole.js';
import { scaleInput } from '../../../src/model/signature.js';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { cp, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIR = 'weights/borehole';

test('a worker-thread model predicts what the same model predicts on the main thread', async (t) => {
  const worker = await loadWorkerModel({ dir: DIR, device: 'wasm', logLevel: 'silent' });
  t.after(() => worker.close());
  const local = await loadModel({ dir: DIR, device: 'wasm' });
  t.after(() => local.close());
  assert.equal(worker.runtime, 'tfjs-wasm', 'the worker reports the runtime it loaded');
  assert.equal(worker.inputWidth, 8);
  assert.equal(worker.outputWidth, 1);
  assert.equal(worker.signature.name, 'borehole');

  const inputs = sampleBoreholeInputs(300, 99);
  const rows = new Float32Array(inputs.length * 8);
  inputs.forEach((x, i) => worker.signature.inputs.forEach((c, j) => (rows[i * 8 + j] = scaleInput(c, x[c.field as keyof typeof x]))));
  const [a, b] = await Promise.all([worker.predict(rows, inputs.length), local.predict(rows, inputs.length)]);
  assert.equal(a.length, 300);
  assert.deepEqual([...a], [...b]);
  assert.equal(rows[0] !== 0, true, 'the caller keeps its rows (the worker gets a copy)');
});

test('a worker-thread model rejects a wrongly sized batch and works after it', async (t) => {
  const model = await loadWorkerModel({ dir: DIR, device: 'cpu', logLevel: 'silent' });
  t.after(() => model.close());
  await assert.rejects(model.predict(new Float32Array(7), 1), (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.INFERENCE_FAILED);
  const out = await model.predict(new Float32Array(16), 2);
  assert.equal(out.length, 2);
  assert.ok(out.every(Number.isFinite));
});

test('closing is idempotent and later calls reject', async () => {
  const model = await loadWorkerModel({ dir: DIR, device: 'cpu', logLevel: 'silent' });
  await Promise.all([model.close(), model.close()]);
  await assert.rejects(model.predict(new Float32Array(8), 1), /closed/);
});

test('a missing model directory fails to load in the worker with MODEL_LOAD_FAILED', async () => {
  await assert.rejects(
    loadWorkerModel({ dir: 'weights/does-not-exist', device: 'cpu', logLevel: 'silent' }),
    (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.MODEL_LOAD_FAILED,
  );
});

test("a load failure in the worker keeps the runtime's error code", async () => {
  await assert.rejects(
    loadWorkerModel({ dir: DIR, device: 'gpu', logLevel: 'silent' }),
    (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.CONFIG_INVALID && /"gpu"/.test(err.message),
  );
});

test('restart() replaces the worker; a worker whose model cannot be loaded is started again by a later call', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'worker-model-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await cp(DIR, dir, { recursive: true });
  const model = await loadWorkerModel({ dir, device: 'cpu', logLevel: 'silent' });
  t.after(() => model.close());
  const row = new Float32Array(8);
  const first = await model.predict(row, 1);

  await rename(join(dir, 'model.json'), join(dir, 'model.json.away'));
  await assert.rejects(model.restart!(), (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.MODEL_LOAD_FAILED);
  await assert.rejects(model.predict(row, 1), (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.MODEL_LOAD_FAILED, 'still unloadable: the call starts a worker, which fails');

  await rename(join(dir, 'model.json.away'), join(dir, 'model.json'));
  assert.deepEqual([...(await model.predict(row, 1))], [...first], 'the next call starts a worker that loads the model again');
});
