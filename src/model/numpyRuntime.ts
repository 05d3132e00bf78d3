import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { useBackend } from './backend.js';
import { deviceOf, type BackendName } from './backendNames.js';
import { denseLayers, layerArrays, type Activation, type DenseLayer } from './denseNetwork.js';
import { checkPredict, loadFailed, type ModelRuntime, type RuntimeLoadOptions } from './model.js';
import { parseNpz } from './npzFile.js';
import { outputWidth } from './outputLayout.js';
import { loadSignature, type Signature } from './signature.js';
import { warmedUp } from './warmup.js';

/**
 * The NumPy runtime (`numpy-tfjs-<device>`): `model.npz` holding a dense network's weights (layout in
 * denseNetwork.ts) and a signature naming each layer's activation, evaluated as TensorFlow.js ops (matMul, add,
 * activation) on the BACKEND device. Measured against Float32 loops in plain JavaScript on the borehole network
 * (bench section f): the loops won only at batch 1, tfjs on wasm was 5–6× faster from batch 32 up, so tfjs it is.
 * The last layer's units are the raw output columns: value outputs, or a classifier's probabilities (a label needs a
 * label tensor, which a dense network has not: write probabilities).
 */

function refuse(dir: string, message: string): StreamserveError {
  return new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `signature.json does not fit model ${dir}: ${message}`);
}

const ACTIVATIONS: Record<Activation, (x: tf.Tensor2D) => tf.Tensor2D> = {
  identity: (x) => x,
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softmax: (x) => tf.softmax(x),
};

interface Layer {
  weights: tf.Tensor2D;
  bias: tf.Tensor1D;
  activation: (x: tf.Tensor2D) => tf.Tensor2D;
}

class NumpyModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly #layers: readonly Layer[];
  #closed = false;

  constructor(signature: Signature, backend: BackendName, layers: readonly DenseLayer[]) {
    this.signature = signature;
    this.runtime = `numpy-tfjs-${backend}`;
    this.inputWidth = signature.inputs.length;
    this.outputWidth = outputWidth(signature);
    this.#layers = layers.map((l) => ({
      weights: tf.tensor2d(l.weights, [l.inputs, l.units]),
      bias: tf.tensor1d(l.bias),
      activation: ACTIVATIONS[l.activation],
    }));
  }

  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    checkPredict(this.#closed, rows, count, this.inputWidth);
    if (count === 0) return new Float32Array(0);
    const output = tf.tidy(() =>
      this.#layers.reduce((x, l) => l.activation(tf.add(tf.matMul(x, l.weights), l.bias)), tf.tensor2d(rows, [count, this.inputWidth], 'float32')),
    );
    try {
      // Copy: the pipeline holds results past the next call, and backends may reuse their buffers.
      return Float32Array.from(await output.data());
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, `inference failed: ${messageOf(cause)}`, { cause });
    } finally {
      output.dispose();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#layers) tf.dispose([l.weights, l.bias]);
  }
}

/**
 * Loads `<dir>/model.npz` on the tfjs backend `device` and warms it up. Throws MODEL_LOAD_FAILED (unreadable
 * directory or file, arrays missing or of the wrong type), SIGNATURE_INVALID (a bad signature.json, or one that does
 * not fit the layers: the inputs, the activations, the outputs; each disagreement named), CONFIG_INVALID or
 * BACKEND_UNAVAILABLE (as the TensorFlow.js runtime).
 */
export async function loadNumpyModel(options: RuntimeLoadOptions): Promise<ModelRuntime> {
  const { dir, logger } = options;
  const device = deviceOf(options.device);
  const started = performance.now();
  const signature = await loadSignature(join(dir, 'signature.json'));
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(dir, 'model.npz'));
  } catch (cause) {
    throw loadFailed(dir, `model.npz is unreadable (${messageOf(cause)})`, cause);
  }
  let pairs;
  try {
    pairs = layerArrays(parseNpz(bytes));
  } catch (cause) {
    throw loadFailed(dir, `model.npz: ${messageOf(cause)}`, cause);
  }
  if (signature.activations === undefined) {
    throw refuse(dir, `a NumPy model needs "activations", one per layer (${pairs.length} layers), e.g. ${JSON.stringify(['tanh', 'identity'])}`);
  }
  const tensors = [...signature.inputs, ...signature.outputs].filter((c) => c.tensor !== undefined).map((c) => c.field);
  if (tensors.length > 0) throw refuse(dir, `a NumPy model has one input and one output; remove "tensor" from ${tensors.join(', ')}`);
  const labels = signature.outputs.filter((o) => o.kind === 'label').map((o) => o.field);
  if (labels.length > 0) throw refuse(dir, `a NumPy model gives numbers, not labels (${labels.join(', ')}): write its classes as a probabilities output`);
  const columns = signature.outputs.filter((o) => o.kind === 'value' && o.column !== undefined).map((o) => o.field);
  if (columns.length > 0) throw refuse(dir, `outputs take the last layer's units in order; remove "column" from ${columns.join(', ')}`);
  let layers: DenseLayer[];
  try {
    layers = denseLayers(pairs, signature.activations, signature.inputs.length);
  } catch (cause) {
    throw refuse(dir, messageOf(cause));
  }
  const units = layers[layers.length - 1]!.units;
  if (units !== outputWidth(signature)) {
    throw refuse(dir, `the last layer has ${units} units but the signature's outputs take ${outputWidth(signature)} (${signature.outputs.map((o) => o.field).join(', ')})`);
  }
  const backend = await useBackend(device, logger);
  const model = new NumpyModel(signature, backend, layers);
  const warmupMs = await warmedUp(model, options.warmupBatchSizes, dir);
  logger?.info(
    {
      dir, runtime: model.runtime, model: signature.name, version: signature.version,
      layers: layers.map((l) => `${l.inputs}→${l.units} ${l.activation}`), warmupMs, loadMs: Math.round(performance.now() - started),
    },
    'model loaded',
  );
  return model;
}
