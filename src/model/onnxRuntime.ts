import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { Logger } from 'pino';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { checkPredict, loadFailed, type ModelRuntime, type RuntimeLoadOptions } from './model.js';
import { outputWidth } from './outputLayout.js';
import { loadSignature, type Signature } from './signature.js';
import { planTensors, type InputFeed, type TensorData, type TensorInfo, type TensorPlan } from './tensorPlan.js';
import { warmedUp } from './warmup.js';

/**
 * The ONNX runtime: `model.onnx` + `signature.json`, run by onnxruntime-node (native CPU, `onnx-cpu`) or, where its
 * native binding cannot load, by onnxruntime-web (WebAssembly, `onnx-wasm`). Inputs and outputs are matched to the
 * signature by tensor name (tensorPlan.ts), so any exported model with [batch, columns] number inputs serves:
 * scikit-learn (skl2onnx, classifiers with zipmap off), PyTorch (torch.onnx.export), Keras (tf2onnx).
 *
 * A native call cannot be interrupted inside a worker thread (the thread stays in the call, and the process cannot
 * exit while it does): `run` hosts this runtime in a child process, which a timeout kills (runtimes.ts, processModel.ts).
 */

/** The ONNX Runtime package: the native binding, or the WebAssembly build (same API). */
export type OnnxBinding = 'native' | 'wasm';

interface Ort {
  InferenceSession: { create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32' | 'float64' | 'int32' | 'int64', data: Float32Array | Float64Array | Int32Array | BigInt64Array, dims: readonly number[]) => Tensor;
}

/**
 * Intra-op threads: one per CPU this process may use, less one for the main thread's Kafka I/O, decoding and encoding,
 * which runs beside every model call (on two cores: one, so no thread pool spins between calls; with a pool of two,
 * streamserve drained a backlog slower on ONNX than on tfjs-wasm although the model alone was 6× faster, bench f).
 */
export const INTRA_OP_THREADS = Math.max(1, availableParallelism() - 1);

async function importOrt(binding: OnnxBinding | undefined, logger: Logger | undefined): Promise<{ ort: Ort; binding: OnnxBinding }> {
  if (binding !== 'wasm') {
    try {
      return { ort: (await import('onnxruntime-node')) as unknown as Ort, binding: 'native' };
    } catch (err) {
      if (binding === 'native') throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `onnxruntime-node cannot load: ${messageOf(err)}`, { cause: err });
      logger?.warn({ err }, 'onnxruntime-node cannot load here; serving the ONNX model with onnxruntime-web (WebAssembly)');
    }
  }
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = 1; // its threads are web workers; in Node the native package is the multi-threaded one
  return { ort: web as unknown as Ort, binding: 'wasm' };
}

const infos = (metadata: readonly InferenceSession.ValueMetadata[]): TensorInfo[] =>
  metadata.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape } : { name: m.name }));

function feedData(feed: InputFeed, rows: Float32Array, count: number, width: number): Float32Array | Float64Array | Int32Array | BigInt64Array {
  const k = feed.columns.length;
  // The common case, one float tensor taking every column in order, is the rows themselves.
  if (feed.type === 'float32' && k === width && feed.columns.every((c, i) => c === i)) return rows;
  const size = count * k;
  const data = feed.type === 'float32' ? new Float32Array(size) : feed.type === 'float64' ? new Float64Array(size) : feed.type === 'int32' ? new Int32Array(size) : new BigInt64Array(size);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < k; j++) {
      const v = rows[i * width + feed.columns[j]!]!;
      if (data instanceof BigInt64Array) data[i * k + j] = BigInt(Math.round(v));
      else data[i * k + j] = feed.type === 'int32' ? Math.round(v) : v;
    }
  }
  return data;
}

class OnnxModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly #ort: Ort;
  readonly #session: InferenceSession;
  readonly #plan: TensorPlan;
  #inflight: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(signature: Signature, binding: OnnxBinding, ort: Ort, session: InferenceSession, plan: TensorPlan) {
    this.signature = signature;
    this.runtime = binding === 'native' ? 'onnx-cpu' : 'onnx-wasm';
    this.inputWidth = signature.inputs.length;
    this.outputWidth = outputWidth(signature);
    this.#ort = ort;
    this.#session = session;
    this.#plan = plan;
  }

  predict(rows: Float32Array, count: number): Promise<Float32Array> {
    const result = this.#predict(rows, count);
    this.#inflight = result.catch(() => undefined);
    return result;
  }

  async #predict(rows: Float32Array, count: number): Promise<Float32Array> {
    checkPredict(this.#closing !== undefined, rows, count, this.inputWidth);
    if (count === 0) return new Float32Array(0);
    const feeds: Record<string, Tensor> = {};
    for (const feed of this.#plan.feeds) {
      feeds[feed.name] = new this.#ort.Tensor(feed.type, feedData(feed, rows, count, this.inputWidth), [count, feed.columns.length]);
    }
    let results: InferenceSession.ReturnType;
    try {
      results = await this.#session.run(feeds, [...this.#plan.fetches]);
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, `inference failed: ${messageOf(cause)}`, { cause });
    }
    try {
      const tensors: Record<string, TensorData> = {};
      for (const name of this.#plan.fetches) {
        const t = results[name]!;
        tensors[name] = { data: t.data as TensorData['data'], dims: t.dims };
      }
      const out = new Float32Array(count * this.outputWidth);
      for (const read of this.#plan.readers) read(tensors, count, out, this.outputWidth);
      return out;
    } finally {
      for (const t of Object.values(results)) t.dispose();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#inflight.then(() => this.#session.release());
    return this.#closing;
  }
}

/**
 * Loads `<dir>/model.onnx` and warms it up. Throws MODEL_LOAD_FAILED (unreadable directory or model), SIGNATURE_INVALID
 * (a bad signature.json, or one that does not fit the model's inputs and outputs, each disagreement named) or
 * BACKEND_UNAVAILABLE (`binding` 'native' asked for and onnxruntime-node cannot load). `binding` absent: native,
 * else WebAssembly.
 */
export async function loadOnnxModel(options: RuntimeLoadOptions, binding?: OnnxBinding): Promise<ModelRuntime> {
  const { dir, logger } = options;
  const started = performance.now();
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (cause) {
    throw loadFailed(dir, `the model directory is missing or unreadable (${messageOf(cause)})`, cause);
  }
  const signature = await loadSignature(join(dir, 'signature.json'));
  if (signature.activations !== undefined) {
    throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `${dir}/signature.json names activations, which only a NumPy model (model.npz) takes`);
  }
  const loaded = await importOrt(binding, logger);
  let session: InferenceSession;
  try {
    session = await loaded.ort.InferenceSession.create(join(dir, 'model.onnx'), {
      intraOpNumThreads: INTRA_OP_THREADS,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (cause) {
    throw loadFailed(dir, `model.onnx: ${messageOf(cause)}`, cause);
  }
  let model: OnnxModel;
  try {
    const plan = planTensors(signature, infos(session.inputMetadata), infos(session.outputMetadata), dir);
    model = new OnnxModel(signature, loaded.binding, loaded.ort, session, plan);
  } catch (err) {
    await session.release();
    throw err;
  }
  const warmupMs = await warmedUp(model, options.warmupBatchSizes, dir);
  logger?.info(
    {
      dir, runtime: model.runtime, model: signature.name, version: signature.version, intraOpThreads: INTRA_OP_THREADS,
      inputs: session.inputNames, outputs: session.outputNames, warmupMs, loadMs: Math.round(performance.now() - started),
    },
    'model loaded',
  );
  return model;
}
