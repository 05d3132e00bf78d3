import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from './backend.js';
import type { BackendName } from './backendNames.js';
import { BOREHOLE_FIELDS, BOREHOLE_OUTPUT, BOREHOLE_RANGES, borehole, mulberry32, sampleBoreholeInputs } from './borehole.js';
import type { BoreholeField, BoreholeInput, BoreholeRanges } from './borehole.js';
import { boreholeAccuracy } from './evaluate.js';
import { MODEL_JSON, WEIGHTS_BIN, fileSaveHandler } from './fileIO.js';
import { parseSignature, scaleInput, type InputColumn, type Signature, type ValueOutput } from './signature.js';
import { loadRuntime } from './runtimes.js';

/**
 * `streamserve train`: fits a small MLP to the borehole function and writes a servable model directory.
 * Deterministic: the data come from seeded PRNGs, initializers are seeded, batches are shuffled with a seeded
 * permutation, and no timestamps are written, so the same options on the same backend give identical files.
 * The result is accepted only if its held-out error, measured through the serving path, is within `maxMape`.
 */

export interface TrainOptions {
  outDir: string;
  seed?: number;
  samples?: number;
  epochs?: number;
  batchSize?: number;
  backend?: BackendName;
  /** Version written to the signature. */
  version?: string;
  heldoutSamples?: number;
  heldoutSeed?: number;
  /**
   * Training inputs are drawn from each column's range widened by this fraction of its half-width (in transformed
   * space) on both sides, so the corners of the accepted domain are not the edges of the data, where a net fits worst.
   */
  margin?: number;
  /** Accept the model only if its held-out MAPE (fraction) is at most this. */
  maxMape?: number;
  log?: (message: string) => void;
}

export interface TrainReport {
  /** Whether the model met `maxMape` and was installed in `outDir`. A rejected model is not written. */
  accepted: boolean;
  outDir: string;
  backend: BackendName;
  seed: number;
  samples: number;
  epochs: number;
  finalLoss: number;
  heldoutSamples: number;
  /** Held-out mean / max absolute percentage error, as fractions (0.01 = 1 %). */
  mape: number;
  maxApe: number;
  trainSeconds: number;
  seconds: number;
}

export const TRAIN_DEFAULTS = {
  seed: 42,
  samples: 32768,
  epochs: 100,
  batchSize: 128,
  backend: 'wasm',
  version: '1.0.0',
  heldoutSamples: 10000,
  heldoutSeed: 4242,
  margin: 0.1,
  maxMape: 0.01,
} as const satisfies Omit<Required<TrainOptions>, 'outDir' | 'log'>;

const HIDDEN_UNITS = [64, 64] as const;
const LEARNING_RATE = { max: 5e-3, min: 1e-5 } as const;

/**
 * Columns spanning orders of magnitude, or entering the function as products and ratios (rw², r/rw, Tu/Tl,
 * L/Kw), are log-transformed: the log-flow is then close to linear in them and a small net fits it well.
 * Hu and Hl enter as a difference, so they stay linear.
 */
const LOG_FIELDS: ReadonlySet<string> = new Set(['rw', 'r', 'Tu', 'Tl', 'L', 'Kw']);

/** Maps each input's [min, max] onto [-1, 1] in transformed space; min/max bound what serving accepts. */
function inputColumns(): InputColumn[] {
  return BOREHOLE_FIELDS.map((field) => {
    const [min, max] = BOREHOLE_RANGES[field];
    const log = LOG_FIELDS.has(field);
    const [lo, hi] = log ? [Math.log(min), Math.log(max)] : [min, max];
    return { field, transform: log ? 'log' : 'identity', center: (lo + hi) / 2, scale: (hi - lo) / 2, min, max };
  });
}

/** BOREHOLE_RANGES widened by `margin` × half-width on each side, in each column's transformed space. */
function trainingRanges(columns: readonly InputColumn[], margin: number): BoreholeRanges {
  const ranges = {} as Record<BoreholeField, readonly [number, number]>;
  for (const c of columns) {
    const untransform = (v: number) => (c.transform === 'log' ? Math.exp(v) : v);
    ranges[c.field as BoreholeField] = [untransform(c.center - c.scale * (1 + margin)), untransform(c.center + c.scale * (1 + margin))];
  }
  return ranges;
}

/** Standardises log(flow) with the training data's mean and standard deviation. */
function outputColumn(targets: readonly number[]): ValueOutput {
  const logs = targets.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const std = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / logs.length);
  return { field: BOREHOLE_OUTPUT, kind: 'value', transform: 'log', center: mean, scale: std };
}

function buildNetwork(seed: number): tfl.Sequential {
  const model = tfl.sequential({ name: 'borehole' });
  // Explicit names: auto-generated ones carry a per-process counter and would make model.json differ between runs.
  HIDDEN_UNITS.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        name: `hidden${i + 1}`,
        units,
        activation: 'tanh',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + i + 1 }),
        ...(i === 0 ? { inputShape: [BOREHOLE_FIELDS.length] } : {}),
      }),
    );
  });
  model.add(tfl.layers.dense({ name: 'flow', units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 99 }) }));
  return model;
}

/** Adam whose learning rate can follow a schedule; tfjs fixes it at construction and keeps it protected. */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** Fisher–Yates with the seeded PRNG: Math.random (which model.fit uses to shuffle) cannot be seeded. */
function permutation(n: number, random: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

function tensors(inputs: readonly BoreholeInput[], columns: readonly InputColumn[], output: ValueOutput, targets: readonly number[]) {
  const x = new Float32Array(inputs.length * columns.length);
  inputs.forEach((input, i) => columns.forEach((c, j) => (x[i * columns.length + j] = scaleInput(c, input[c.field as keyof BoreholeInput]))));
  const y = Float32Array.from(targets, (t) => (Math.log(t) - output.center) / output.scale);
  return { x: tf.tensor2d(x, [inputs.length, columns.length]), y: tf.tensor2d(y, [inputs.length, 1]) };
}

async function fit(
  network: tfl.Sequential,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  o: Required<Pick<TrainOptions, 'seed' | 'epochs' | 'batchSize'>>,
  log: (message: string) => void,
): Promise<number> {
  const optimizer = new ScheduledAdam(LEARNING_RATE.max, 0.9, 0.999, 1e-7);
  const variables = network.trainableWeights.map((w) => w.read() as tf.Variable);
  const n = x.shape[0];
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const totalSteps = stepsPerEpoch * o.epochs;
  const random = mulberry32(o.seed ^ 0x5eed);
  let step = 0;
  let lastLoss = Number.NaN;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const order = tf.tensor1d(permutation(n, random), 'int32');
    let epochLoss = 0;
    for (let start = 0; start < n; start += o.batchSize) {
      // Cosine decay to a small rate: the last epochs polish the fit, which is what gets MAPE well under 1 %.
      const progress = step / totalSteps;
      optimizer.setLearningRate(LEARNING_RATE.min + 0.5 * (LEARNING_RATE.max - LEARNING_RATE.min) * (1 + Math.cos(Math.PI * progress)));
      const size = Math.min(o.batchSize, n - start);
      const loss = tf.tidy(() => {
        // tf.slice, not order.slice: chained tensor methods are registered only by the @tensorflow/tfjs union.
        const index = tf.slice(order, start, size);
        const xb = tf.gather(x, index);
        const yb = tf.gather(y, index);
        const cost = optimizer.minimize(() => tf.losses.meanSquaredError(yb, network.apply(xb, { training: true }) as tf.Tensor), true, variables);
        if (cost === null) throw new Error('optimizer returned no loss');
        return cost;
      });
      epochLoss += ((await loss.data())[0] ?? Number.NaN) * size;
      loss.dispose();
      step++;
    }
    order.dispose();
    lastLoss = epochLoss / n;
    if (epoch === 1 || epoch % 10 === 0 || epoch === o.epochs) log(`epoch ${epoch}/${o.epochs} loss ${lastLoss.toExponential(3)}`);
    // Yield between epochs so a signal handler or progress display gets a turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  optimizer.dispose();
  return lastLoss;
}

async function writeSignature(dir: string, signature: Signature): Promise<void> {
  const tmp = join(dir, '.signature.json.tmp');
  await writeFile(tmp, `${JSON.stringify(signature, null, 2)}\n`);
  await rename(tmp, join(dir, 'signature.json'));
}

type Resolved = Required<Omit<TrainOptions, 'log'>>;

/** Options left undefined (e.g. CLI flags not given) take the defaults rather than overriding them. */
function resolve(options: TrainOptions): Resolved {
  const pick = <K extends keyof Resolved>(key: K): Resolved[K] => (options[key] ?? TRAIN_DEFAULTS[key as keyof typeof TRAIN_DEFAULTS]) as Resolved[K];
  const o: Resolved = {
    outDir: options.outDir, seed: pick('seed'), samples: pick('samples'), epochs: pick('epochs'), batchSize: pick('batchSize'),
    backend: pick('backend'), version: pick('version'), heldoutSamples: pick('heldoutSamples'), heldoutSeed: pick('heldoutSeed'),
    margin: pick('margin'), maxMape: pick('maxMape'),
  };
  for (const key of ['samples', 'epochs', 'batchSize', 'heldoutSamples'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${o[key]}`);
  }
  if (!Number.isInteger(o.seed) || !Number.isInteger(o.heldoutSeed)) throw new RangeError('seeds must be integers');
  return o;
}

/** Trains, saves to a scratch directory next to `outDir`, evaluates through loadRuntime, and installs if accepted. */
export async function trainBorehole(options: TrainOptions): Promise<TrainReport> {
  const started = performance.now();
  const o = resolve(options);
  const log = options.log ?? (() => undefined);
  const backend = await useBackend(o.backend);
  log(`training borehole MLP ${BOREHOLE_FIELDS.length}→${HIDDEN_UNITS.join('→')}→1 on ${backend}: ${o.samples} samples, ${o.epochs} epochs, seed ${o.seed}`);

  const columns = inputColumns();
  const inputs = sampleBoreholeInputs(o.samples, o.seed, trainingRanges(columns, o.margin));
  const targets = inputs.map(borehole);
  const output = outputColumn(targets);
  const network = buildNetwork(o.seed);
  const scratch = join(dirname(o.outDir), `.${basename(o.outDir)}.train-${process.pid}`);
  try {
    const trainStarted = performance.now();
    const { x, y } = tensors(inputs, columns, output, targets);
    const finalLoss = await fit(network, x, y, o, log).finally(() => tf.dispose([x, y]));
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    log(`trained in ${trainSeconds.toFixed(1)} s`);

    await rm(scratch, { recursive: true, force: true });
    await network.save(fileSaveHandler(scratch));
    // No timings or dates here: the files must be identical when training is repeated.
    const training = {
      seed: o.seed, samples: o.samples, epochs: o.epochs, batchSize: o.batchSize, margin: o.margin, backend,
      architecture: `${BOREHOLE_FIELDS.length}-${HIDDEN_UNITS.join('-')}-1 tanh`, optimizer: `adam, cosine ${LEARNING_RATE.max}→${LEARNING_RATE.min}`,
      tfjs: tf.version_core, heldoutSeed: o.heldoutSeed, heldoutSamples: o.heldoutSamples,
    };
    const draft = parseSignature({ name: 'borehole', version: o.version, idField: 'id', eventTimeField: 'event_time', inputs: columns, outputs: [output], training });
    await writeSignature(scratch, draft);

    // Held-out accuracy through exactly what `run` does: loadRuntime from disk, signature scaling, predict.
    const served = await loadRuntime({ dir: scratch, device: backend });
    const accuracy = await boreholeAccuracy(served, sampleBoreholeInputs(o.heldoutSamples, o.heldoutSeed)).finally(() => served.close());
    const accepted = accuracy.mape <= o.maxMape;
    log(`held-out MAPE ${(accuracy.mape * 100).toFixed(3)} %, max APE ${(accuracy.maxApe * 100).toFixed(3)} % on ${accuracy.count} inputs` +
      (accepted ? '' : ` — rejected: above ${(o.maxMape * 100).toFixed(2)} %, ${o.outDir} left unchanged`));
    if (accepted) {
      const round = (v: number) => Number(v.toPrecision(4));
      await writeSignature(scratch, { ...draft, training: { ...training, heldoutMape: round(accuracy.mape), heldoutMaxApe: round(accuracy.maxApe) } });
      await mkdir(o.outDir, { recursive: true });
      // Weights first, signature last: a reader that sees the new signature also sees the new weights.
      for (const file of [WEIGHTS_BIN, MODEL_JSON, 'signature.json']) await rename(join(scratch, file), join(o.outDir, file));
      log(`wrote ${o.outDir}`);
    }
    return {
      accepted, outDir: o.outDir, backend, seed: o.seed, samples: o.samples, epochs: o.epochs, finalLoss,
      heldoutSamples: accuracy.count, mape: accuracy.mape, maxApe: accuracy.maxApe, trainSeconds,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    network.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}
