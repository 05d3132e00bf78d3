/** Condition polling for the fault suite: like waitFor, but gives up at once when `abort` names a reason (a child died). */

export interface PollOptions {
  message: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Checked before each attempt; a returned string ends the wait with that reason. */
  abort?: () => string | undefined;
}

export async function poll<T>(condition: () => T | Promise<T>, { message, timeoutMs, intervalMs = 100, abort }: PollOptions): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = abort?.();
    if (reason !== undefined) throw new Error(`${message}: ${reason}`, lastError === undefined ? undefined : { cause: lastError });
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${message} (not within ${timeoutMs} ms)`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs `fn` and returns its error instead of throwing, so a scenario can still count and report what it has. */
export async function attempt(fn: () => Promise<unknown>): Promise<Error | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * For `poll`'s abort: a reason once `progress()` has not grown for `stallMs` (a stream that stopped moving fails
 * at once instead of waiting out the whole timeout). `progress` is called by the poll's own condition.
 */
export function stallWatch(stallMs: number): { seen: (progress: number) => void; stalled: () => string | undefined } {
  let best = -1;
  let since = Date.now();
  return {
    seen: (progress) => {
      if (progress > best) {
        best = progress;
        since = Date.now();
      }
    },
    stalled: () => (Date.now() - since > stallMs ? `no progress for ${Math.round((Date.now() - since) / 1000)} s (stuck at ${best})` : undefined),
  };
}
