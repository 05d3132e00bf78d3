import type { NpyArray } from './npzFile.js';
import type { Signature } from './signature.js';

/**
 * A dense network from NumPy weights: layer i computes act_i(x · W_i + b_i) with W_i [inputs, units] and b_i [units]
 * (numpyRuntime.ts evaluates it).
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
