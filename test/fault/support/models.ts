/**
 * Model wrappers for fault scenarios: the real model (loaded by src/model/runtimes.ts, as `run` loads it) with a fault
 * around its predict. Handed to App through its `loadModel` option, so the pipeline, the broker and the admin surfaces
 * around them are the real ones.
 */
import type { ModelRuntime, RuntimeLoader } from '../../../src/model/model.js';
import { loadRuntime } from '../../../src/model/runtimes.js';

export type ModelLoader = RuntimeLoader;

/** The real loader, with `wrap` applied to the loaded (and already warmed-up) model. */
export function wrappedLoader(wrap: (model: ModelRuntime) => ModelRuntime, load: ModelLoader = loadRuntime): ModelLoader {
  return async (options) => wrap(await load(options));
}

function around(model: ModelRuntime, predict: ModelRuntime['predict']): ModelRuntime {
  return {
    get signature() {
      return model.signature;
    },
    get runtime() {
      return model.runtime;
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
export function delayed(model: ModelRuntime, ms: number): ModelRuntime {
  return around(model, async (rows, count) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return model.predict(rows, count);
  });
}

/** Tells `onCall` how many rows each model call scores. */
export function observed(model: ModelRuntime, onCall: (rows: number) => void): ModelRuntime {
  return around(model, (rows, count) => {
    onCall(count);
    return model.predict(rows, count);
  });
}

/** Rejects any call whose batch holds a row that `marked` picks (rows are `inputWidth` floats, row-major). */
export function failingOn(model: ModelRuntime, marked: (row: Float32Array) => boolean): ModelRuntime {
  return around(model, async (rows, count) => {
    const width = model.inputWidth;
    for (let i = 0; i < count; i++) {
      if (marked(rows.subarray(i * width, (i + 1) * width))) throw new Error(`test model: marked row ${i} of ${count}`);
    }
    return model.predict(rows, count);
  });
}

/** The wrapper the child script (serve.ts) applies, from its environment: FAULT_MODEL_DELAY_MS (default none). */
export function wrapperFromEnv(env: NodeJS.ProcessEnv): (model: ModelRuntime) => ModelRuntime {
  const delayMs = Number(env.FAULT_MODEL_DELAY_MS ?? 0);
  return (model) => (delayMs > 0 ? delayed(model, delayMs) : model);
}
