import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import type { Logger } from 'pino';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { useBackend } from './backend.js';
import { deviceOf, type BackendName } from './backendNames.js';
import { fileLoadHandler, readModelJSON, type ModelFormat } from './fileIO.js';
import { checkPredict, loadFailed, type ModelRuntime, type RuntimeLoadOptions } from './model.js';
import { outputWidth } from './outputLayout.js';
import { loadSignature, type Signature } from './signature.js';
import { warmedUp } from './warmup.js';

/**
 * The TensorFlow.js runtime: loads a model directory (`model.json` + shards + `signature.json`) as a warmed-up
 * ModelRuntime named `tfjs-<device>`. Both converter formats are served: Keras/layers models and TF graph models
 * (tensorflowjs_converter output), each with exactly one 2-D input [batch, inputs] and one 2-D output [batch, outputs].
 */

/** One forward pass; the runner owns the input tensor and must leave only the returned output alive. */
type Runner = (input: tf.Tensor2D) => Promise<tf.Tensor>;

/** What a signature may ask of a model with one input and one output tensor and no names to match. */
function checkServable(signature: Signature, dir: string): void {
  const problems: string[] = [];
  const labels = signature.outputs.filter((o) => o.kind === 'label').map((o) => o.field);
  if (labels.length > 0) problems.push(`label output(s) ${labels.join(', ')} need a label tensor; write the classes as a probabilities output`);
  const named = [...signature.inputs, ...signature.outputs].filter((c) => c.tensor !== undefined || ('column' in c && c.column !== undefined));
  if (named.length > 0) problems.push(`${named.map((c) => c.field).join(', ')} name a tensor or column; the model's one input and output are taken in column order`);
  if (signature.activations !== undefined) problems.push('activations are for a NumPy model (model.npz)');
  if (problems.length > 0) throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `signature.json does not fit the TensorFlow.js model ${dir}: ${problems.join('; ')}`);
}

function single(output: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, dir: string): tf.Tensor {
  if (output instanceof tf.Tensor) return output;
  const all = Array.isArray(output) ? output : Object.values(output);
  tf.dispose(all);
  throw loadFailed(dir, `the model has ${all.length} outputs; streamserve serves models with one output tensor`);
}

/** The last dimension of a [batch, width] shape, or undefined when the model does not declare it. */
function declaredWidth(shape: readonly (number | null)[] | undefined, what: string, dir: string): number | undefined {
  if (shape === undefined) return undefined;
  if (shape.length !== 2) throw loadFailed(dir, `${what} has shape [${shape.join(', ')}]; a 2-D [batch, columns] tensor is needed`);
  const width = shape[1];
  return width === null || width === undefined || width < 0 ? undefined : width;
}

function checkWidth(dir: string, what: 'input' | 'output', modelWidth: number, signature: Signature): void {
  const listed = what === 'input' ? signature.inputs.length : outputWidth(signature);
  if (modelWidth !== listed) {
    throw new StreamserveError(
      ErrorCodes.SIGNATURE_INVALID,
      `model ${dir} has ${modelWidth} ${what} columns but signature.json ${what === 'input' ? `lists ${listed} inputs` : `takes ${listed} output columns`}`,
    );
  }
}

interface Loaded {
  run: Runner;
  dispose: () => void;
  inputShape: readonly (number | null)[] | undefined;
  outputShape: readonly (number | null)[] | undefined;
}

function layersRunner(model: LayersModel, dir: string): Loaded {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    model.dispose();
    throw loadFailed(dir, `the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; one of each is needed`);
  }
  return {
    // predictOnBatch runs the whole batch at once; predict() would split it into chunks of 32.
    run: (input) => Promise.resolve(tf.tidy(() => single(model.predictOnBatch(input), dir))),
    dispose: () => void model.dispose(),
    inputShape: model.inputs[0]?.shape,
    outputShape: model.outputs[0]?.shape,
  };
}

function graphRunner(model: GraphModel, dir: string, logger: Logger | undefined): Loaded {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    model.dispose();
    throw loadFailed(dir, `the model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; one of each is needed`);
  }
  // Graphs with control flow or dynamic shapes only run through executeAsync. It is slower, so use it only
  // once the synchronous path has failed (decided on the first call, which is the warm-up).
  let mode: 'unknown' | 'sync' | 'async' = 'unknown';
  const runAsync = async (input: tf.Tensor2D) => single(await model.executeAsync(input), dir);
  const runSync = (input: tf.Tensor2D) => tf.tidy(() => single(model.execute(input), dir));
  return {
    run: async (input) => {
      if (mode === 'sync') return runSync(input);
      if (mode === 'async') return runAsync(input);
      try {
        const output = runSync(input);
        mode = 'sync';
        return output;
      } catch (err) {
        logger?.info({ err }, 'graph model cannot run synchronously; using executeAsync');
        mode = 'async';
        return runAsync(input);
      }
    },
    dispose: () => model.dispose(),
    inputShape: model.inputs[0]?.shape,
    outputShape: model.outputs[0]?.shape,
  };
}

async function loadArtifacts(dir: string, logger: Logger | undefined): Promise<Loaded & { format: ModelFormat }> {
  let file;
  try {
    file = await readModelJSON(dir);
  } catch (cause) {
    throw loadFailed(dir, messageOf(cause), cause);
  }
  const handler = fileLoadHandler(dir, file);
  try {
    if (file.format === 'graph-model') {
      // Imported on first use: most deployments serve layers models, and the converter adds ~4 MB RSS per thread.
      const { loadGraphModel } = await import('@tensorflow/tfjs-converter');
      return { format: file.format, ...graphRunner(await loadGraphModel(handler), dir, logger) };
    }
    return { format: file.format, ...layersRunner(await loadLayersModel(handler), dir) };
  } catch (cause) {
    if (cause instanceof StreamserveError) throw cause;
    throw loadFailed(dir, `${file.path} (${file.format}): ${messageOf(cause)}`, cause);
  }
}

class TfjsModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  #loaded: Loaded;
  #inflight: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(signature: Signature, backend: BackendName, outputWidth: number, loaded: Loaded) {
    this.signature = signature;
    this.runtime = `tfjs-${backend}`;
    this.inputWidth = signature.inputs.length;
    this.outputWidth = outputWidth;
    this.#loaded = loaded;
  }

  predict(rows: Float32Array, count: number): Promise<Float32Array> {
    const result = this.#predict(rows, count);
    this.#inflight = result.catch(() => undefined);
    return result;
  }

  async #predict(rows: Float32Array, count: number): Promise<Float32Array> {
    checkPredict(this.#closing !== undefined, rows, count, this.inputWidth);
    if (count === 0) return new Float32Array(0);
    let output: tf.Tensor | undefined;
    // The cpu backend may keep a reference to `rows` rather than copy it; the tensor is disposed before we
    // return, so the caller may reuse the buffer afterwards.
    const input = tf.tensor2d(rows, [count, this.inputWidth], 'float32');
    try {
      output = await this.#loaded.run(input);
      const [batch, width] = output.shape;
      if (output.rank !== 2 || batch !== count || width !== this.outputWidth) {
        throw new StreamserveError(
          ErrorCodes.BAD_MODEL_OUTPUT,
          `model returned shape [${output.shape.join(', ')}] for ${count} rows; expected [${count}, ${this.outputWidth}]`,
        );
      }
      // Copy: the pipeline holds results past the next call, and backends may reuse their buffers.
      return Float32Array.from(await output.data());
    } catch (cause) {
      if (cause instanceof StreamserveError) throw cause;
      throw new StreamserveError(ErrorCodes.INFERENCE_FAILED, `inference failed: ${messageOf(cause)}`, { cause });
    } finally {
      input.dispose();
      output?.dispose();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#inflight.then(() => this.#loaded.dispose());
    return this.#closing;
  }
}

/**
 * Loads `<dir>` on the tfjs backend `device` and warms it up. Throws MODEL_LOAD_FAILED (unreadable directory or
 * artefacts), SIGNATURE_INVALID (bad signature.json, or its column counts disagree with the model), CONFIG_INVALID
 * (`device` is not a tfjs backend) or BACKEND_UNAVAILABLE (it is, but cannot run here).
 */
export async function loadModel(options: RuntimeLoadOptions): Promise<ModelRuntime> {
  const { dir, logger } = options;
  const device = deviceOf(options.device);
  const started = performance.now();
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (cause) {
    throw loadFailed(dir, `the model directory is missing or unreadable (${messageOf(cause)})`, cause);
  }
  const backend = await useBackend(device, logger);
  const signature = await loadSignature(join(dir, 'signature.json'));
  checkServable(signature, dir);
  const loaded = await loadArtifacts(dir, logger);
  let outputWidth: number;
  try {
    const inputWidth = declaredWidth(loaded.inputShape, 'the model input', dir);
    if (inputWidth !== undefined) checkWidth(dir, 'input', inputWidth, signature);
    const declaredOutput = declaredWidth(loaded.outputShape, 'the model output', dir);
    if (declaredOutput !== undefined) checkWidth(dir, 'output', declaredOutput, signature);
    outputWidth = declaredOutput ?? (await probeOutputWidth(loaded, signature, dir));
  } catch (err) {
    loaded.dispose();
    throw err;
  }
  const model = new TfjsModel(signature, backend, outputWidth, loaded);
  const warmupMs = await warmedUp(model, options.warmupBatchSizes, dir);
  logger?.info(
    {
      dir, format: loaded.format, runtime: model.runtime, model: signature.name, version: signature.version,
      inputs: model.inputWidth, outputs: outputWidth, warmupMs, loadMs: Math.round(performance.now() - started),
    },
    'model loaded',
  );
  return model;
}

/** For graphs that do not declare their output width: run one row and read it off the result. */
async function probeOutputWidth(loaded: Loaded, signature: Signature, dir: string): Promise<number> {
  const input = tf.zeros([1, signature.inputs.length]) as tf.Tensor2D;
  let output: tf.Tensor | undefined;
  try {
    output = await loaded.run(input);
  } catch (cause) {
    throw loadFailed(dir, `a probe with ${signature.inputs.length} input columns failed: ${messageOf(cause)}`, cause);
  } finally {
    input.dispose();
  }
  const width = output.rank === 2 ? output.shape[1] : undefined;
  output.dispose();
  if (width === undefined) throw loadFailed(dir, `the model output has rank ${output.rank}; a 2-D tensor is needed`);
  checkWidth(dir, 'output', width, signature);
  return width;
}
