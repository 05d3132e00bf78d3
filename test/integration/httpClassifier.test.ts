/**
 * A classifier from Python over HTTP (`serve`'s composition in process): the iris ONNX model's labels and
 * probabilities through `POST /predict` and the Open Inference Protocol, checked against the predictions Python made
 * (weights/iris/1.0.0/python-predictions.json).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { testLogger } from './support/app.js';

const DIR = 'weights/iris/1.0.0';
const python = JSON.parse(readFileSync(`${DIR}/python-predictions.json`, 'utf8')) as {
  inputs: Record<string, number | string>[];
  species: string[];
  probabilities: number[][];
};
const CLASSES = ['setosa', 'versicolor', 'virginica'];

let app: App;
let port: number;
before(async () => {
  const config = loadConfig({
    env: {},
    flags: { model: DIR, 'input-schema': 'schemas/iris-input.avsc', 'output-schema': 'schemas/iris-prediction.avsc', 'http-port': '0', 'admin-port': '0', 'log-level': 'warn', 'log-format': 'json' },
  });
  app = new App({ config, logger: testLogger(config), inputs: { kafka: false, http: true } });
  await app.start();
  port = app.httpPort!;
});
after(async () => {
  assert.equal(await app.stop(), 0);
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as unknown };
};

test("POST /predict: each flower's label and probabilities, as Python's", async () => {
  const { status, body } = await post('/predict', python.inputs);
  assert.equal(status, 200);
  const answers = body as { id: string; species: string; probabilities: Record<string, number> }[];
  answers.forEach((a, i) => {
    assert.equal(a.id, python.inputs[i]!.id);
    assert.equal(a.species, python.species[i], `flower ${i}`);
    assert.deepEqual(Object.keys(a.probabilities), CLASSES);
    CLASSES.forEach((c, k) => assert.ok(Math.abs(a.probabilities[c]! - python.probabilities[i]![k]!) < 1e-5, `flower ${i} ${c}`));
  });
});

test('Open Inference Protocol: metadata and infer give the label as BYTES and the probabilities as FP64 [n, 3]', async () => {
  const meta = (await (await fetch(`http://127.0.0.1:${port}/v2/models/iris`)).json()) as { outputs: unknown[] };
  assert.deepEqual(meta.outputs, [
    { name: 'species', datatype: 'BYTES', shape: [-1] },
    { name: 'probabilities', datatype: 'FP64', shape: [-1, 3] },
  ]);
  const fields = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
  const n = python.inputs.length;
  const { status, body } = await post('/v2/models/iris/infer', {
    inputs: fields.map((f) => ({ name: f, shape: [n], datatype: 'FP64', data: python.inputs.map((x) => x[f]) })),
  });
  assert.equal(status, 200);
  const outputs = (body as { outputs: { name: string; datatype: string; shape: number[]; data: (string | number)[] }[] }).outputs;
  assert.deepEqual(outputs.map((o) => [o.name, o.datatype, o.shape]), [['species', 'BYTES', [n]], ['probabilities', 'FP64', [n, 3]]]);
  assert.deepEqual(outputs[0]!.data, python.species);
  outputs[1]!.data.forEach((p, j) => assert.ok(Math.abs((p as number) - python.probabilities[Math.floor(j / 3)]![j % 3]!) < 1e-5, `value ${j}`));
});
