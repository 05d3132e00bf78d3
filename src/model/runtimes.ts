import { readdir } from 'node:fs/promises';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import type { ModelRuntime, RuntimeLoadOptions, RuntimeLoader } from './model.js';

/**
 * Which runtime serves a model directory, decided by what the directory holds. This is the one place runtimes are
 * registered: the composition root and the model worker both load through `loadRuntime` and never name one.
 */

interface RuntimeEntry {
  /** The file that marks a model directory as this runtime's (beside signature.json). */
  artefact: string;
  /** For messages; the loaded model reports its full name (`tfjs-wasm`) as `runtime`. */
  name: string;
  /**
   * Where `run` hosts the runtime off the main thread (INFERENCE_THREAD=worker): a worker thread, or a child process
   * for a runtime whose native calls a worker thread cannot abandon (a hung onnxruntime call keeps the thread, and
   * the process cannot exit while it does; a child process is killed).
   */
  host: 'thread' | 'process';
  load: RuntimeLoader;
}

/**
 * A model directory holds exactly one of these artefacts (several is a startup error naming them). Adding a format is
 * a runtime file exporting a RuntimeLoader and one row here. Loaders are imported on first use, so a process loads
 * only the library of the runtime it serves (not TensorFlow.js on the main thread when the model runs in the worker).
 */
const RUNTIMES: readonly RuntimeEntry[] = [
  { artefact: 'model.json', name: 'tfjs', host: 'thread', load: async (options) => (await import('./tfjsModel.js')).loadModel(options) },
  { artefact: 'model.onnx', name: 'onnx', host: 'process', load: async (options) => (await import('./onnxRuntime.js')).loadOnnxModel(options) },
  { artefact: 'model.npz', name: 'numpy', host: 'thread', load: async (options) => (await import('./numpyRuntime.js')).loadNumpyModel(options) },
];

export type RuntimeHost = RuntimeEntry['host'];

/**
 * The runtime the model directory calls for. Throws MODEL_LOAD_FAILED when the directory is unreadable, holds no known
 * artefact, or holds more than one (which one is meant is not guessed).
 */
export async function runtimeFor(dir: string): Promise<Pick<RuntimeEntry, 'name' | 'host' | 'artefact'>> {
  return entryFor(dir);
}

async function entryFor(dir: string): Promise<RuntimeEntry> {
  let files: Set<string>;
  try {
    files = new Set(await readdir(dir));
  } catch (cause) {
    throw new StreamserveError(
      ErrorCodes.MODEL_LOAD_FAILED,
      `cannot load model ${dir}: the model directory is missing or unreadable (${messageOf(cause)})`,
      { cause },
    );
  }
  const found = RUNTIMES.filter((r) => files.has(r.artefact));
  if (found.length > 1) {
    const named = found.map((r) => `${r.artefact} (${r.name})`).join(', ');
    throw new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `cannot load model ${dir}: it holds ${named}; a model directory holds one model — move the others out`);
  }
  const entry = found[0];
  if (entry === undefined) {
    const known = RUNTIMES.map((r) => `${r.artefact} (${r.name})`).join(', ');
    throw new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `cannot load model ${dir}: it holds none of the model files streamserve serves: ${known}`);
  }
  return entry;
}

/**
 * Loads and warms up the model in `options.dir` with the runtime its artefact calls for. Throws MODEL_LOAD_FAILED as
 * runtimeFor does, and otherwise whatever the runtime's loader throws.
 */
export async function loadRuntime(options: RuntimeLoadOptions): Promise<ModelRuntime> {
  return (await entryFor(options.dir)).load(options);
}
