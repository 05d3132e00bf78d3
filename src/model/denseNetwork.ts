import type { NpyArray } from './npzFile.js';
import type { Signature } from './signature.js';

/**
 * A dense network from NumPy weights, evaluated in Float32 on this thread: layer i computes
 * act_i(x · W_i + b_i) with W_i [inputs, units] and b_i [units]. Direct loops, not TensorFlow.js: for the small
 * networks such weights hold, a call costs less than a tfjs op dispatch (bench/modelAlone.ts measures both).
 *
 * Layout of model.npz (np.savez / np.savez_compressed): `W0, b0, W1, b1, …` (or `W1, b1, …`; `w` lower case too), one
 * pair per layer in order, or unnamed arrays (`np.savez(path, W0, b0, W1, b1)` stores `arr_0, arr_1, …`) alternating
 * weights and biases. Activations come from the signature's `activations`, one per layer.
 */

export type Activation = NonNullable<Signature['activations']>[number];

export interface DenseLayer {
  inputs: number;
  units: number;
  weights: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

/** The (weights, bias) pairs in layer order, by the layout above; throws an Error saying what is missing. */
export function layerArrays(arrays: ReadonlyMap<string, NpyArray>): [NpyArray, NpyArray][] {
  const get = (...names: string[]) => names.map((n) => arrays.get(n)).find((a) => a !== undefined);
  for (const first of [0, 1]) {
    const pairs: [NpyArray, NpyArray][] = [];
    for (let i = first; ; i++) {
      const w = get(`W${i}`, `w${i}`);
      const b = get(`b${i}`);
      if (w === undefined && b === undefined) break;
      if (w === undefined || b === undefined) throw new Error(`layer ${i} has ${w ? `W${i} but no b${i}` : `b${i} but no W${i}`}`);
      pairs.push([w, b]);
    }
    if (pairs.length > 0) return pairs;
  }
  const positional = [...arrays.keys()].filter((k) => /^arr_\d+$/.test(k)).length;
  if (positional > 0) {
    if (positional % 2 !== 0) throw new Error(`${positional} unnamed arrays (arr_0 …); weights and biases come in pairs`);
    return Array.from({ length: positional / 2 }, (_, i) => [arrays.get(`arr_${2 * i}`)!, arrays.get(`arr_${2 * i + 1}`)!]);
  }
  throw new Error(`no layer arrays: expected W0, b0, W1, b1, … (or arr_0, arr_1, …); it holds ${[...arrays.keys()].join(', ') || 'nothing'}`);
}

/** Checks shapes chain from `inputs` columns and builds the layers; throws an Error naming the layer that does not fit. */
export function denseLayers(pairs: readonly [NpyArray, NpyArray][], activations: readonly Activation[], inputs: number): DenseLayer[] {
  if (activations.length !== pairs.length) throw new Error(`the signature names ${activations.length} activations for ${pairs.length} layers`);
  let width = inputs;
  return pairs.map(([w, b], i) => {
    if (w.shape.length !== 2) throw new Error(`layer ${i}: weights have shape [${w.shape.join(', ')}]; [inputs, units] is needed`);
    const [rows, units] = w.shape as [number, number];
    if (rows !== width) throw new Error(`layer ${i}: weights take ${rows} inputs but ${i === 0 ? 'the signature feeds' : 'the layer before gives'} ${width}`);
    if (b.data.length !== units) throw new Error(`layer ${i}: ${b.data.length} biases for ${units} units`);
    width = units;
    return { inputs: rows, units, weights: w.data, bias: b.data, activation: activations[i]! };
  });
}

function activate(values: Float32Array, count: number, units: number, activation: Activation): void {
  switch (activation) {
    case 'identity':
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < values.length; i++) if (values[i]! < 0) values[i] = 0;
      return;
    case 'tanh':
      for (let i = 0; i < values.length; i++) values[i] = Math.tanh(values[i]!);
      return;
    case 'sigmoid':
      for (let i = 0; i < values.length; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
      return;
    case 'softmax':
      for (let r = 0; r < count; r++) {
        const row = values.subarray(r * units, (r + 1) * units);
        const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
        let sum = 0;
        for (let j = 0; j < units; j++) sum += row[j] = Math.exp(row[j]! - max);
        for (let j = 0; j < units; j++) row[j] = row[j]! / sum;
      }
  }
}

/** Scores `count` rows (row-major, the first layer's inputs wide); returns `count` rows of the last layer's units. */
export function forward(layers: readonly DenseLayer[], rows: Float32Array, count: number): Float32Array {
  let x = rows;
  for (const { inputs, units, weights, bias, activation } of layers) {
    const y = new Float32Array(count * units);
    for (let r = 0; r < count; r++) {
      const out = r * units;
      y.set(bias, out);
      for (let k = 0; k < inputs; k++) {
        const a = x[r * inputs + k]!;
        if (a === 0) continue;
        const w = k * units;
        for (let j = 0; j < units; j++) y[out + j] = y[out + j]! + a * weights[w + j]!;
      }
    }
    activate(y, count, units, activation);
    x = y;
  }
  return x;
}
