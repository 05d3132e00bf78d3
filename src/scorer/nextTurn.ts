/**
 * Work put off to the next check phase of the event loop (setImmediate): steps added before it comes run together,
 * in the order added, after the I/O and promise reactions already due. The scorer hands out a backlog's outcomes
 * this way, so that the replies of interactive callers answered from the same model call are written first.
 */
export class NextTurn {
  #queued: (() => void)[] | null = null;
  #ran: Promise<void> = Promise.resolve();

  /** Steps are waiting for their turn. */
  get pending(): boolean {
    return this.#queued !== null;
  }

  /** Resolves once every step added so far has run. */
  get ran(): Promise<void> {
    return this.#ran;
  }

  /** Queues `step` (which must not throw) for the next turn. */
  add(step: () => void): void {
    if (this.#queued) {
      this.#queued.push(step);
      return;
    }
    const queued = [step];
    this.#queued = queued;
    this.#ran = new Promise<void>((resolve) =>
      setImmediate(() => {
        this.#queued = null;
        try {
          for (const s of queued) s();
        } finally {
          resolve();
        }
      }),
    );
  }
}
