/**
 * The example models made in Python, served in this process by each runtime, against the predictions Python made
 * (test/support/pythonModels.ts states the tolerances): the encoder writes what a consumer reads.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { avroPredictionEncoder } from '../../../src/codec/predictionEncoder.js';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import type { ModelRuntime } from '../../../src/model/model.js';
import { loadOnnxModel } from '../../../src/model/onnxRuntime.js';
import { outputLayout, predictionValues } from '../../../src/model/outputLayout.js';
import { loadRuntime } from '../../../src/model/runtimes.js';
import { featurize } from '../../../src/scorer/featurize.js';
import { boreholeNpz, boreholeOnnx, compareWithPython, irisIntOnnx, irisOnnx, type PythonModel } from '../../support/pythonModels.js';

/** Scores Python's inputs through featurize → model → output layout → Avro, and returns each decoded prediction. */
async function served(model: ModelRuntime, python: PythonModel): Promise<Map<string, Record<string, unknown>>> {
  const type = await loadAvroSchema(python.outputSchema);
  const encoder = avroPredictionEncoder(type, model.signature);
  const features = python.inputs.map((input) => featurize(model.signature, { ...input, event_time: 0 }));
  const rows = new Float32Array(features.length * model.inputWidth);
  features.forEach((f, i) => rows.set(f.row, i * model.inputWidth));
  const raw = await model.predict(rows, features.length);
  const { slots } = outputLayout(model.signature);
  const out = new Map<string, Record<string, unknown>>();
  features.forEach((f, i) => {
    const values = predictionValues(slots, raw, i * model.outputWidth, model.outputWidth);
    assert.ok(typeof values !== 'string', `${f.id}: ${String(values)}`);
    out.set(f.id, type.fromBuffer(encoder.encode({ id: f.id, eventTime: 0, scoredAt: 0, outputs: values })) as Record<string, unknown>);
  });
  return out;
}

async function check(python: PythonModel, load: () => Promise<ModelRuntime>): Promise<void> {
  const model = await load();
  try {
    assert.match(model.runtime, python.runtime);
    const predictions = await served(model, python);
    const classes = model.signature.outputs.find((o) => o.kind === 'probabilities')?.classes;
    const problems = [...python.expected].flatMap(([id, want]) => compareWithPython(predictions.get(id)!, want, classes).map((p) => `${id} ${p}`));
    assert.deepEqual(problems.slice(0, 5), [], `${problems.length} of ${python.expected.size} predictions differ from Python's`);
  } finally {
    await model.close();
  }
}

describe('models made in Python, against Python', () => {
  for (const [name, python] of [['borehole ONNX (scikit-learn MLPRegressor)', boreholeOnnx()], ['iris ONNX (string labels)', irisOnnx()], ['iris ONNX (integer labels)', irisIntOnnx()]] as const) {
    it(`${name} on onnxruntime-node`, () => check(python, () => loadRuntime({ dir: python.dir })));
    it(`${name} on onnxruntime-web (WebAssembly)`, () => check(python, () => loadOnnxModel({ dir: python.dir }, 'wasm')));
  }
  it('borehole NumPy .npz', () => check(boreholeNpz(), () => loadRuntime({ dir: boreholeNpz().dir })));

  it('a label taken as the argmax of the probabilities tensor is scikit-learn\'s label', async (t) => {
    const python = irisOnnx();
    const dir = await mkdtemp(join(tmpdir(), 'streamserve-argmax-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await cp(python.dir, dir, { recursive: true });
    const signature = JSON.parse(await readFile(join(dir, 'signature.json'), 'utf8')) as { outputs: { tensor: string }[] };
    signature.outputs[0]!.tensor = 'probabilities';
    await writeFile(join(dir, 'signature.json'), JSON.stringify(signature));
    await check({ ...python, dir }, () => loadRuntime({ dir }));
  });
});
