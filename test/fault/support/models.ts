/**
 * Model wrappers for fault scenarios: the real TensorFlow.js model (src/model/tfjsModel.ts) with a fault around
 * its predict. Handed to App through its `loadModel` option, so the pipeline, the broker and the admin surfaces
 * around them are the real ones.
 */
import type { Model } from '../../../src/model/model.js';
import { loadModel, type LoadModelOptions } from '../../../src/model/tfjsModel.js';

export type ModelLoader = (options: LoadModelOptions) => Promise<Model>;

/** The real loader, with `wrap` applied to the loaded (and already warmed-up) model. */
export function wrappedLoader(wrap: (model: Model) => Model, load: ModelLoader = loadModel): ModelLoader {
  return async (options) => wrap(await load(options));
}

function around(model: Model, predict: Model['predict']): Model {
  return {
    get signature() {
      return model.signature;
    },
    get backend() {
      return model.backend;
    },
    get inputWidth() {
      return model.inputWidth;
    },
    get outputWidth() {
      return model.outputWidth;
    },
    predict,
    close: () => model.close(),
  };
}

/** Waits `ms` before each model call without blocking any thread, like a model behind a slow remote call. */
export function delayed(model: Model, ms: number): Model {
  return around(model, async (rows, count) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return model.predict(rows, count);
  });
}

/** Tells `onCall` how many rows each model call scores. */
export function observed(model: Model, onCall: (rows: number) => void): Model {
  return around(model, (rows, count) => {
    onCall(count);
    return model.predict(rows, count);
  });
}

/** Rejects any call whose batch holds a row that `marked` picks (rows are `inputWidth` floats, row-major). */
export function failingOn(model: Model, marked: (row: Float32Array) => boolean): Model {
  return around(model, async (rows, count) => {
    const width = model.inputWidth;
    for (let i = 0; i < count; i++) {
      if (marked(rows.subarray(i * width, (i + 1) * width))) throw new Error(`test model: marked row ${i} of ${count}`);
    }
    return model.predict(rows, count);
  });
}

/** The wrapper the child script (serve.ts) applies, from its environment: FAULT_MODEL_DELAY_MS (default none). */
export function wrapperFromEnv(env: NodeJS.ProcessEnv): (model: Model) => Model {
  const delayMs = Number(env.FAULT_MODEL_DELAY_MS ?? 0);
  return (model) => (delayMs > 0 ? delayed(model, delayMs) : model);
}
