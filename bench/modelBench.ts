/**
 * (f) The model alone: rows per second at fixed batch sizes, on one backend per child process (TensorFlow.js has one
 * active backend per process), both called directly on this thread (tfjsModel `loadModel`) and through the worker
 * thread streamserve uses by default (`loadWorkerModel`). Inputs are real borehole inputs, featurized with the
 * model's signature. Both models are warmed up at every measured size before anything is timed.
 */
import { loadRuntime, loadWorkerModel, availableBackends, type BackendName, type ModelRuntime, sampleBoreholeInputs, featurize } from '../src/index.js';
import { memoryMB } from './util.js';

const MODEL_DIR = 'weights/borehole';

export type ModelMode = 'direct' | 'worker';

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

async function modelLoad(p: { backend: BackendName; sizes: number[] }): Promise<{ backend: string; loadMs: Record<ModelMode, number> }> {
  const loadMs = {} as Record<ModelMode, number>;
  let t0 = performance.now();
  const direct = await loadRuntime({ dir: MODEL_DIR, device: p.backend, warmupBatchSizes: p.sizes });
  loadMs.direct = Math.round(performance.now() - t0);
  t0 = performance.now();
  const worker = await loadWorkerModel({ dir: MODEL_DIR, device: p.backend, warmupBatchSizes: p.sizes, logLevel: 'warn' });
  loadMs.worker = Math.round(performance.now() - t0);
  models.set('direct', direct);
  models.set('worker', worker);
  const max = Math.max(...p.sizes);
  const width = direct.inputWidth;
  rows = new Float32Array(max * width);
  sampleBoreholeInputs(max, 11).forEach((x, i) => rows.set(featurize(direct.signature, { id: `m-${i}`, event_time: 0, ...x }).row, i * width));
  // loadModel fails unless p.backend is the backend in effect.
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

/** Every size, alternating direct and worker at each size so both see the same machine conditions. */
async function modelMeasure(p: { sizes: number[]; minMs: number }): Promise<{ points: ModelPoint[]; peakRssMB: number | null }> {
  const points: ModelPoint[] = [];
  for (const batch of p.sizes) {
    for (const mode of ['direct', 'worker'] as const) points.push({ mode, ...(await measure(models.get(mode)!, batch, p.minMs)) });
  }
  return { points, peakRssMB: memoryMB().peakRss };
}

async function modelClose(): Promise<void> {
  await Promise.all([...models.values()].map((m) => m.close()));
  models.clear();
}

export const modelHandlers = {
  modelBackends: () => availableBackends(),
  modelLoad,
  modelMeasure,
  modelClose,
};
