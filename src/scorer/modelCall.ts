import type { ModelRuntime } from '../model/model.js';
import { ErrorCodes, StreamserveError } from '../errors.js';

/** A model call that did not return within the inference timeout; the runtime was restarted. */
export class InferenceTimeout extends StreamserveError {
  constructor(count: number, timeoutMs: number) {
    super(ErrorCodes.INFERENCE_TIMEOUT, `the model did not score ${count} row(s) within ${timeoutMs} ms`, { retryable: true });
  }
}

/**
 * One model call with a deadline. A call still running at `timeoutMs` is abandoned: the runtime is restarted (a
 * worker thread is replaced, so a hung native call cannot hold the next one up) and the call rejects with
 * InferenceTimeout. `timeoutMs` 0 means no deadline. A runtime that cannot restart (the main thread) is not
 * interrupted: its call holds the thread, and the deadline is only seen once it returns.
 */
export async function callModel(model: ModelRuntime, rows: Float32Array, count: number, timeoutMs: number): Promise<Float32Array> {
  if (timeoutMs <= 0) return model.predict(rows, count);
  let timer: NodeJS.Timeout | undefined;
  const call = model.predict(rows, count);
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    const first = await Promise.race([call, deadline]);
    if (first !== 'timeout') return first;
  } finally {
    clearTimeout(timer);
  }
  call.catch(() => {}); // abandoned: its late answer or rejection means nothing now
  await model.restart?.().catch(() => {}); // a failed restart shows in the next call
  throw new InferenceTimeout(count, timeoutMs);
}
