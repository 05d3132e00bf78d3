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
  load: RuntimeLoader;
}

/**
 * Tried in order: a directory holding several artefacts is served by the first row that matches. Adding a format
 * (ONNX `model.onnx`, NumPy `model.npz`) is a runtime file exporting a RuntimeLoader and one row here. Loaders are
 * imported on first use, so a process loads only the library of the runtime it serves (not TensorFlow.js on the
 * main thread when the model runs in the worker).
 */
const RUNTIMES: readonly RuntimeEntry[] = [
  { artefact: 'model.json', name: 'tfjs', load: async (options) => (await import('./tfjsModel.js')).loadModel(options) },
];

/**
 * Loads and warms up the model in `options.dir` with the runtime its artefacts call for. Throws MODEL_LOAD_FAILED when
 * the directory is unreadable or holds no known artefact, and otherwise whatever the runtime's loader throws.
 */
export async function loadRuntime(options: RuntimeLoadOptions): Promise<ModelRuntime> {
  const { dir } = options;
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
  const entry = RUNTIMES.find((r) => files.has(r.artefact));
  if (entry === undefined) {
    const known = RUNTIMES.map((r) => `${r.artefact} (${r.name})`).join(', ');
    throw new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `cannot load model ${dir}: it holds none of the model files streamserve serves: ${known}`);
  }
  return entry.load(options);
}
