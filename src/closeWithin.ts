/**
 * Waits for named parts to close, for at most `timeoutMs`. Returns the names of the parts still closing then (a
 * close that fails counts as finished: there is nothing more to wait for). Never throws, and leaves no timer.
 */
export async function closeWithin(parts: Record<string, Promise<unknown> | undefined>, timeoutMs: number): Promise<string[]> {
  const pending = new Set<string>();
  const closes = Object.entries(parts).map(async ([name, closing]) => {
    if (closing === undefined) return;
    pending.add(name);
    await closing.catch(() => {});
    pending.delete(name);
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([Promise.all(closes), deadline]);
  clearTimeout(timer);
  return [...pending];
}
