/**
 * The real model with a fault a scenario switches on mid-stream and off again. Unlike the wrappers in models.ts it
 * forwards `restart()` too, so the model-health loop and the inference timeout reach the real worker, and it counts
 * what a scenario asserts on: rows scored, calls that failed, restarts and restarts that failed.
 */
import type { ModelRuntime } from '../../../src/model/model.js';

/** What replaces calls to the real model while it is switched on. */
export interface Fault {
  call(rows: Float32Array, count: number): Promise<Float32Array>;
  /** Called after each restart of the runtime (the real model's restart has returned or failed). */
  restarted?(): void;
}

export class ControlledModel implements ModelRuntime {
  readonly inner: ModelRuntime;
  #fault: Fault | null = null;
  #trigger: { afterRows: number; start: (model: ControlledModel) => void } | null = null;
  /** When the trigger switched the fault on (Date.now()), null before. */
  faultStartedAt: number | null = null;
  /** Rows of calls that resolved. */
  rowsScored = 0;
  failedCalls = 0;
  /** restart() calls from the pipeline (model health, inference timeout); not the scenario's own. */
  restarts = 0;
  failedRestarts = 0;

  constructor(inner: ModelRuntime) {
    this.inner = inner;
  }

  get signature() {
    return this.inner.signature;
  }

  get runtime() {
    return this.inner.runtime;
  }

  get inputWidth() {
    return this.inner.inputWidth;
  }

  get outputWidth() {
    return this.inner.outputWidth;
  }

  /** Runs `start` once, right after the call that brings the rows scored to `afterRows` or more (mid-stream). */
  startAfter(afterRows: number, start: (model: ControlledModel) => void): void {
    this.#trigger = { afterRows, start };
  }

  /** Switches a fault on (or off, with null). */
  setFault(fault: Fault | null): void {
    this.#fault = fault;
  }

  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    let output: Float32Array;
    try {
      output = await (this.#fault ? this.#fault.call(rows, count) : this.inner.predict(rows, count));
    } catch (err) {
      this.failedCalls++;
      throw err;
    }
    this.rowsScored += count;
    const trigger = this.#trigger;
    if (trigger !== null && this.rowsScored >= trigger.afterRows) {
      this.#trigger = null;
      this.faultStartedAt = Date.now();
      trigger.start(this);
    }
    return output;
  }

  async restart(): Promise<void> {
    this.restarts++;
    try {
      await this.inner.restart?.();
    } catch (err) {
      this.failedRestarts++;
      throw err;
    } finally {
      this.#fault?.restarted?.();
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
