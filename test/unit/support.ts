/**
 * Helpers for unit tests: no broker, no TensorFlow. Fixtures come from the project's own schemas and the
 * borehole definitions, so a change there shows up here.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { loadAvroSchema, type AvroType } from '../../src/codec/schema.js';
import { BOREHOLE_FIELDS, BOREHOLE_OUTPUT, BOREHOLE_RANGES, sampleBoreholeInputs, type BoreholeInput } from '../../src/model/borehole.js';
import type { ModelRuntime } from '../../src/model/model.js';
import { loadSignature, parseSignature, type Signature } from '../../src/model/signature.js';

/** Absolute path of a file in the repository, from its repository-relative path. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Included in the timeout error, to say what was being waited for. */
  what?: string;
}

/**
 * Polls `condition` until it returns true (or a promise of true), failing after a deadline. Tests use this
 * instead of sleeping a fixed time: they go on as soon as the state is reached, and fail clearly if it never is.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, options: WaitForOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 2;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A logger that writes nothing. */
export const silentLogger: Logger = pino({ level: 'silent' });

export const inputSchema = (): Promise<AvroType> => loadAvroSchema(repoPath('schemas/borehole-input.avsc'));
export const predictionSchema = (): Promise<AvroType> => loadAvroSchema(repoPath('schemas/borehole-prediction.avsc'));

/**
 * The borehole model's signature: the trained one in weights/borehole when it exists, else one built from the
 * borehole fields and ranges (identity scaling onto [-1, 1], log output), which validates inputs the same way.
 */
export async function boreholeSignature(): Promise<Signature> {
  const trained = repoPath('weights/borehole/signature.json');
  if (existsSync(trained)) return loadSignature(trained);
  return parseSignature({
    name: 'borehole',
    version: 'test-1',
    inputs: BOREHOLE_FIELDS.map((field) => {
      const [min, max] = BOREHOLE_RANGES[field];
      return { field, center: (min + max) / 2, scale: (max - min) / 2, min, max };
    }),
    outputs: [{ field: BOREHOLE_OUTPUT, transform: 'log', center: 4, scale: 1 }],
  });
}

/** A valid borehole input, reproducible from `seed`. */
export function goodBorehole(seed = 1): BoreholeInput {
  return sampleBoreholeInputs(1, seed)[0]!;
}

/** One Avro-encoded valid input value. */
export function encodeInput(type: AvroType, id: string, fields: BoreholeInput | Record<string, unknown>, eventTime = 1_700_000_000_000): Buffer {
  return type.toBuffer({ id, event_time: eventTime, ...fields });
}

export interface StubModelOptions {
  signature: Signature;
  /** Raw outputs for one row; default: each output column j is row[0] + j. */
  outputs?: (row: Float32Array) => number[];
  /** The whole call rejects (non-retryable) when any row in it matches. */
  failsOn?: (row: Float32Array) => boolean;
  /** Rejections to give before answering, each with this error. */
  failFirst?: { times: number; error: unknown };
  /** Overrides what predict resolves to, given the honest answer. */
  mangle?: (output: Float32Array, count: number) => Float32Array;
}

/** A ModelRuntime with no TensorFlow: deterministic outputs, scripted failures, and a log of batch sizes it was given. */
export class StubModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime = 'stub';
  readonly inputWidth: number;
  readonly outputWidth: number;
  /** Rows in each predict call, in call order (including calls that rejected). */
  readonly batchSizes: number[] = [];
  readonly #o: StubModelOptions;
  #failuresLeft: number;

  constructor(options: StubModelOptions) {
    this.#o = options;
    this.signature = options.signature;
    this.inputWidth = options.signature.inputs.length;
    this.outputWidth = options.signature.outputs.length;
    this.#failuresLeft = options.failFirst?.times ?? 0;
  }

  /** The raw output this model gives for one row. */
  rawOutputs(row: Float32Array): number[] {
    return this.#o.outputs ? this.#o.outputs(row) : Array.from({ length: this.outputWidth }, (_, j) => row[0]! + j);
  }

  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    this.batchSizes.push(count);
    if (rows.length !== count * this.inputWidth) throw new Error(`stub model got ${rows.length} values for ${count} rows`);
    if (this.#failuresLeft > 0) {
      this.#failuresLeft--;
      throw this.#o.failFirst!.error;
    }
    const out = new Float32Array(count * this.outputWidth);
    for (let i = 0; i < count; i++) {
      const row = rows.subarray(i * this.inputWidth, (i + 1) * this.inputWidth);
      if (this.#o.failsOn?.(row)) throw new Error(`stub model cannot score row ${i}`);
      out.set(this.rawOutputs(row), i * this.outputWidth);
    }
    return this.#o.mangle ? this.#o.mangle(out, count) : out;
  }

  async close(): Promise<void> {}
}
