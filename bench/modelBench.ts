/**
 * (f) The model alone: rows per second at fixed batch sizes, one runtime per child process (TensorFlow.js has one
 * active backend per process), the borehole regressor (8-64-64-1 tanh) in each format: TensorFlow.js on each backend
 * (`weights/borehole`), ONNX on onnxruntime-node and onnxruntime-web (`weights/borehole-onnx`, exported from
 * scikit-learn), NumPy weights as streamserve's NumPy runtime runs them (TensorFlow.js ops on wasm,
 * `weights/borehole-npz`) and, for comparison only, the same weights in Float32 loops in plain JavaScript (the
 * alternative the NumPy runtime was measured against, and lost to from batch 32 up).
 * Each is called directly on this thread and, where `run` can host it, as `run` hosts it (worker thread; ONNX: child
 * process), alternating at each size. Inputs are real borehole inputs, featurized with the model's signature; every
 * model is warmed up at every measured size before anything is timed.
 */
import { readFile } from 'node:fs/promises';
import {
  denseLayers, featurize, layerArrays, loadOffThread, loadOnnxModel, loadRuntime, loadSignature, loadWorkerModel, parseNpz,
  sampleBoreholeInputs, availableBackends, type BackendName, type ModelRuntime,
} from '../src/index.js';
import { memoryMB } from './util.js';

/** What (f) measures: a TensorFlow.js backend name, or one of these. */
export const OTHER_RUNTIMES = ['onnx-cpu', 'onnx-wasm', 'numpy-tfjs-wasm', 'numpy-js-loops'] as const;
export type ModelVariant = BackendName | (typeof OTHER_RUNTIMES)[number];

const DIRS = { tfjs: 'weights/borehole', onnx: 'weights/borehole-onnx/1.0.0', npz: 'weights/borehole-npz/1.0.0' } as const;

export type ModelMode = 'direct' | 'hosted';

export interface ModelPoint {
  mode: ModelMode;
  batch: number;
  calls: number;
  rowsPerSec: number;
  /** Median wall time of one predict call, ms. */
  callMs: number;
}

const models = new Map<ModelMode, ModelRuntime>();
let rows: Float32Array = new Float32Array(0);

/** The NumPy weights in Float32 loops in plain JavaScript (x · W + b, tanh), on this thread; bench only. */
async function npzOnLoops(dir: string): Promise<ModelRuntime> {
  const signature = await loadSignature(`${dir}/signature.json`);
  const layers = denseLayers(layerArrays(parseNpz(await readFile(`${dir}/model.npz`))), signature.activations!, signature.inputs.length);
  const forward = (rows: Float32Array, count: number): Float32Array => {
    let x = rows;
    for (const { inputs, units, weights, bias, activation } of layers) {
      const y = new Float32Array(count * units);
      for (let r = 0; r < count; r++) {
        for (let j = 0; j < units; j++) {
          let sum = bias[j]!;
          for (let k = 0; k < inputs; k++) sum += x[r * inputs + k]! * weights[k * units + j]!;
          y[r * units + j] = activation === 'tanh' ? Math.tanh(sum) : sum;
        }
      }
      x = y;
    }
    return x;
  };
  return {
    signature,
    runtime: 'numpy-js-loops',
    inputWidth: signature.inputs.length,
    outputWidth: 1,
    predict: async (input, count) => forward(input, count),
    close: async () => undefined,
  };
}

async function load(variant: ModelVariant, mode: ModelMode, sizes: number[]): Promise<ModelRuntime | null> {
  const warm = { warmupBatchSizes: sizes };
  switch (variant) {
    case 'onnx-cpu':
      return mode === 'direct' ? loadOnnxModel({ dir: DIRS.onnx, ...warm }, 'native') : loadOffThread({ dir: DIRS.onnx, ...warm, logLevel: 'warn' });
    case 'onnx-wasm':
      return mode === 'direct' ? loadOnnxModel({ dir: DIRS.onnx, ...warm }, 'wasm') : null; // run hosts onnxruntime-node
    case 'numpy-tfjs-wasm':
      return mode === 'direct' ? loadRuntime({ dir: DIRS.npz, device: 'wasm', ...warm }) : loadOffThread({ dir: DIRS.npz, device: 'wasm', ...warm, logLevel: 'warn' });
    case 'numpy-js-loops':
      return mode === 'direct' ? npzOnLoops(DIRS.npz) : null;
    default:
      return mode === 'direct'
        ? loadRuntime({ dir: DIRS.tfjs, device: variant, ...warm })
        : loadWorkerModel({ dir: DIRS.tfjs, device: variant, ...warm, logLevel: 'warn' });
  }
}

async function modelLoad(p: { backend: ModelVariant; sizes: number[] }): Promise<{ backend: string; loadMs: Partial<Record<ModelMode, number>> }> {
  const loadMs: Partial<Record<ModelMode, number>> = {};
  for (const mode of ['direct', 'hosted'] as const) {
    const t0 = performance.now();
    const model = await load(p.backend, mode, p.sizes);
    if (model === null) continue;
    loadMs[mode] = Math.round(performance.now() - t0);
    models.set(mode, model);
  }
  const direct = models.get('direct')!;
  const max = Math.max(...p.sizes);
  const width = direct.inputWidth;
  rows = new Float32Array(max * width);
  sampleBoreholeInputs(max, 11).forEach((x, i) => rows.set(featurize(direct.signature, { id: `m-${i}`, event_time: 0, ...x }).row, i * width));
  if (p.backend === 'numpy-js-loops') for (const size of p.sizes) await direct.predict(rows.subarray(0, size * width), size);
  return { backend: p.backend, loadMs };
}

async function measure(model: ModelRuntime, batch: number, minMs: number): Promise<Omit<ModelPoint, 'mode'>> {
  const input = rows.subarray(0, batch * model.inputWidth);
  for (let i = 0; i < 3; i++) await model.predict(input, batch);
  const times: number[] = [];
  const started = performance.now();
  let now = started;
  while ((now - started < minMs || times.length < 5) && times.length < 100_000) {
    const t0 = now;
    await model.predict(input, batch);
    now = performance.now();
    times.push(now - t0);
  }
  times.sort((a, b) => a - b);
  const seconds = (now - started) / 1000;
  return { batch, calls: times.length, rowsPerSec: (batch * times.length) / seconds, callMs: times[Math.floor(times.length / 2)]! };
}

/** Every size, alternating direct and hosted at each size so both see the same machine conditions. */
async function modelMeasure(p: { sizes: number[]; minMs: number }): Promise<{ points: ModelPoint[]; peakRssMB: number | null }> {
  const points: ModelPoint[] = [];
  for (const batch of p.sizes) {
    for (const [mode, model] of models) points.push({ mode, ...(await measure(model, batch, p.minMs)) });
  }
  return { points, peakRssMB: memoryMB().peakRss };
}

async function modelClose(): Promise<void> {
  await Promise.all([...models.values()].map((m) => m.close()));
  models.clear();
}

export const modelHandlers = {
  /** TensorFlow.js backends that run here, then the other runtimes. */
  modelBackends: async (): Promise<ModelVariant[]> => [...(await availableBackends()), ...OTHER_RUNTIMES],
  modelLoad,
  modelMeasure,
  modelClose,
};
