import type { ModelRuntime } from '../model/model.js';
import { outputLayout, predictionValues } from '../model/outputLayout.js';
import { ErrorCodes, RecordError, StreamserveError, isStreamserveError, messageOf } from '../errors.js';
import { InferenceTimeout, callModel } from './modelCall.js';

export interface InferOptions {
  /** Attempts for a batch whose failure is marked retryable, before it is split. */
  retries: number;
  retryBackoffMs: number;
  /** A call that takes longer is abandoned, the runtime restarted, and the batch split (0: no deadline). */
  timeoutMs?: number;
  /**
   * A row the model is known to score (the last row it scored, or one made from the signature). When a call fails,
   * the model must score it, or the model, not the rows, is at fault: nothing is split or dead-lettered and
   * scoreRows rejects with ModelUnavailable.
   */
  knownGood?: Float32Array;
  sleep?: (ms: number) => Promise<void>;
  onModelCall?: (rows: number, seconds: number) => void;
}

/** The model fails rows it is known to score: it is broken, not the rows (retryable: the scorer tries again). */
export class ModelUnavailable extends StreamserveError {
  constructor(cause: unknown) {
    super(ErrorCodes.MODEL_UNAVAILABLE, `the model fails a row it is known to score: ${messageOf(cause)}`, { retryable: true, cause });
  }
}

/** Per input row: the unscaled output values, or the reason it could not be scored. */
export type RowResult = Float64Array | RecordError;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Scores rows, isolating failures: if the model rejects a batch (or times out on it) while it still scores the
 * known-good row, the batch is halved until the failing rows are found; only those become `infer` errors and every
 * other row is scored. A row that hangs the model every time is found the same way, one timeout per halving, and
 * must hang it once more after the known-good row passed (a model that stalled once hangs no row). If the
 * known-good row fails too, rejects with ModelUnavailable and answers nothing. Outputs that are not finite are
 * per-row errors too (BAD_MODEL_OUTPUT).
 */
export async function scoreRows(model: ModelRuntime, rows: readonly Float32Array[], options: InferOptions): Promise<RowResult[]> {
  const results: RowResult[] = new Array(rows.length);
  await scoreRange(model, rows, 0, rows.length, results, options);
  return results;
}

async function scoreRange(
  model: ModelRuntime,
  rows: readonly Float32Array[],
  from: number,
  to: number,
  results: RowResult[],
  options: InferOptions,
  /** Trying once more a single row whose call timed out. */
  confirming = false,
): Promise<void> {
  const count = to - from;
  if (count === 0) return;
  const width = model.inputWidth;
  const input = new Float32Array(count * width);
  for (let i = 0; i < count; i++) input.set(rows[from + i]!, i * width);

  let output: Float32Array | undefined;
  let failure: unknown;
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    const started = performance.now();
    try {
      output = await callModel(model, input, count, options.timeoutMs ?? 0);
      options.onModelCall?.(count, (performance.now() - started) / 1000);
      break;
    } catch (err) {
      failure = err;
      // A timeout is not retried at the same size: the halves find a hanging row with one timeout per level.
      if (err instanceof InferenceTimeout || !(isStreamserveError(err) && err.retryable) || attempt === options.retries) break;
      await (options.sleep ?? defaultSleep)(options.retryBackoffMs * 2 ** attempt);
    }
  }

  if (output === undefined) {
    if (!(await scoresKnownGood(model, options))) throw new ModelUnavailable(failure);
    if (count === 1) {
      // One timeout may be the model's own (a process that stalled, since replaced): a row hangs the model only if
      // it hangs it again once the model is known to work. The second try goes the whole way again (retries, the
      // known-good check), so a model that fails it otherwise is judged as any failure is.
      if (failure instanceof InferenceTimeout && !confirming) return scoreRange(model, rows, from, to, results, options, true);
      results[from] =
        failure instanceof InferenceTimeout
          ? new RecordError('infer', ErrorCodes.INFERENCE_TIMEOUT, `the model hangs on this input: ${failure.message}`, { cause: failure })
          : new RecordError('infer', ErrorCodes.INFERENCE_FAILED, `model failed on this input: ${messageOf(failure)}`, { cause: failure });
      return;
    }
    const mid = from + Math.floor(count / 2);
    await scoreRange(model, rows, from, mid, results, options);
    await scoreRange(model, rows, mid, to, results, options);
    return;
  }

  const outWidth = model.outputWidth;
  if (output.length !== count * outWidth) {
    const error = new RecordError(
      'infer',
      ErrorCodes.BAD_MODEL_OUTPUT,
      `model returned ${output.length} values for ${count} rows of width ${outWidth}`,
    );
    for (let i = 0; i < count; i++) results[from + i] = error;
    return;
  }
  const { slots } = outputLayout(model.signature);
  for (let i = 0; i < count; i++) {
    const values = predictionValues(slots, output, i * outWidth, outWidth);
    results[from + i] = typeof values === 'string' ? new RecordError('infer', ErrorCodes.BAD_MODEL_OUTPUT, values) : values;
  }
}

/** Whether the model still scores the known-good row (true when there is none to try). */
async function scoresKnownGood(model: ModelRuntime, options: InferOptions): Promise<boolean> {
  if (!options.knownGood) return true;
  try {
    const out = await callModel(model, options.knownGood, 1, options.timeoutMs ?? 0);
    return out.length === model.outputWidth;
  } catch {
    return false;
  }
}
