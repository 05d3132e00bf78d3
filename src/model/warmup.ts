import { performance } from 'node:perf_hooks';
import { messageOf } from '../errors.js';
import { loadFailed, type ModelRuntime } from './model.js';

/** Batch sizes run before a model is handed out when the caller names none. */
export const DEFAULT_WARMUP = [1, 32] as const;

/**
 * Runs each batch size once with zero rows (every column's center, inside the range the model was trained on) so the
 * first real batch pays no compile or allocation cost; returns milliseconds per size. Throws if a batch fails or gives
 * a value that is not finite.
 */
export async function warmUp(model: ModelRuntime, sizes: readonly number[] = DEFAULT_WARMUP): Promise<Record<number, number>> {
  const ms: Record<number, number> = {};
  for (const size of sizes) {
    const t0 = performance.now();
    const out = await model.predict(new Float32Array(size * model.inputWidth), size);
    ms[size] = Math.round((performance.now() - t0) * 100) / 100;
    if (!out.every(Number.isFinite)) throw new Error(`warm-up at batch ${size} produced values that are not finite`);
  }
  return ms;
}

/** `warmUp` for a model being loaded from `dir`: on a failure the model is closed and MODEL_LOAD_FAILED thrown. */
export async function warmedUp(model: ModelRuntime, sizes: readonly number[] | undefined, dir: string): Promise<Record<number, number>> {
  try {
    return await warmUp(model, sizes);
  } catch (cause) {
    await model.close();
    throw loadFailed(dir, `warm-up failed: ${messageOf(cause)}`, cause);
  }
}
