/**
 * The borehole function: water flow (m³/yr) through a borehole between two aquifers. It is the example model's
 * ground truth — `train` fits a network to it, and tests compare served predictions against it. Field names,
 * order and ranges are the standard ones (Surjanovic & Bingham, Virtual Library of Simulation Experiments).
 */

/** Input fields in tensor-column order. The signature, the demo producer and the Avro schema use these names. */
export const BOREHOLE_FIELDS = ['rw', 'r', 'Tu', 'Hu', 'Tl', 'Hl', 'L', 'Kw'] as const;
export type BoreholeField = (typeof BOREHOLE_FIELDS)[number];
export type BoreholeInput = Readonly<Record<BoreholeField, number>>;

/** The output field the prediction carries. */
export const BOREHOLE_OUTPUT = 'flow_rate' as const;

/** Closed ranges [min, max] of each input: the domain the model is trained on and the only one it accepts. */
export const BOREHOLE_RANGES = {
  rw: [0.05, 0.15], // radius of borehole (m)
  r: [100, 50000], // radius of influence (m)
  Tu: [63070, 115600], // transmissivity of upper aquifer (m²/yr)
  Hu: [990, 1110], // potentiometric head of upper aquifer (m)
  Tl: [63.1, 116], // transmissivity of lower aquifer (m²/yr)
  Hl: [700, 820], // potentiometric head of lower aquifer (m)
  L: [1120, 1680], // length of borehole (m)
  Kw: [9855, 12045], // hydraulic conductivity of borehole (m/yr)
} as const satisfies Record<BoreholeField, readonly [number, number]>;

export function borehole(x: BoreholeInput): number {
  const logRatio = Math.log(x.r / x.rw);
  const denominator = logRatio * (1 + (2 * x.L * x.Tu) / (logRatio * x.rw * x.rw * x.Kw) + x.Tu / x.Tl);
  return (2 * Math.PI * x.Tu * (x.Hu - x.Hl)) / denominator;
}

/**
 * mulberry32: a tiny 32-bit PRNG. Math.random cannot be seeded, and training data, held-out sets and test
 * inputs must be reproducible from a seed. Returns uniform floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type BoreholeRanges = Readonly<Record<BoreholeField, readonly [number, number]>>;

/**
 * `count` inputs drawn uniformly from `ranges` (default BOREHOLE_RANGES); the same arguments always give the
 * same inputs.
 */
export function sampleBoreholeInputs(count: number, seed: number, ranges: BoreholeRanges = BOREHOLE_RANGES): BoreholeInput[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const random = mulberry32(seed);
  const inputs: BoreholeInput[] = [];
  for (let i = 0; i < count; i++) {
    const row = {} as Record<BoreholeField, number>;
    for (const field of BOREHOLE_FIELDS) {
      const [min, max] = ranges[field];
      row[field] = min + random() * (max - min);
    }
    inputs.push(row);
  }
  return inputs;
}
