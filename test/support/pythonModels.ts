/**
 * The example models made in Python (scripts/python/make_examples.py) and the predictions Python made for their fixed
 * inputs (python-predictions.json beside each model), so tests compare streamserve's outputs with Python's without
 * Python. Tolerances: streamserve scores in float32; scikit-learn and NumPy in float64.
 */
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * Relative error allowed on a regressor's flow_rate: float32 against float64 through two tanh layers and exp(). Seen
 * (2026-12, onnx-cpu and numpy-tfjs-wasm against scikit-learn / NumPy): at most 4e-7.
 */
export const REGRESSION_RTOL = 1e-5;
/** Absolute error allowed on a class probability. Seen: at most 3e-7 (onnx-cpu against scikit-learn's predict_proba). */
export const PROBABILITY_ATOL = 1e-6;

export type PythonInput = Record<string, number | string>;

export interface PythonModel {
  /** Model directory, relative to the repository. */
  dir: string;
  /** Its Avro input and prediction schemas. */
  inputSchema: string;
  outputSchema: string;
  runtime: RegExp;
  inputs: PythonInput[];
  /** Python's outputs per input id, as the prediction's fields. */
  expected: Map<string, Record<string, unknown>>;
}

function load(dir: string, schemas: [string, string], runtime: RegExp, expected: (json: Record<string, unknown[]>, i: number) => Record<string, unknown>): PythonModel {
  const json = JSON.parse(readFileSync(`${ROOT}${dir}/python-predictions.json`, 'utf8')) as Record<string, unknown[]> & { inputs: PythonInput[] };
  return {
    dir,
    inputSchema: `${ROOT}${schemas[0]}`,
    outputSchema: `${ROOT}${schemas[1]}`,
    runtime,
    inputs: json.inputs,
    expected: new Map(json.inputs.map((input, i) => [String(input.id), expected(json, i)])),
  };
}

const BOREHOLE_SCHEMAS: [string, string] = ['schemas/borehole-input.avsc', 'schemas/borehole-prediction.avsc'];

/** The borehole regressor exported from scikit-learn to ONNX; expected: scikit-learn's own predict(). */
export const boreholeOnnx = () => load('weights/borehole-onnx/1.0.0', BOREHOLE_SCHEMAS, /^onnx-/, (j, i) => ({ flow_rate: j.sklearn![i] }));
/** The same network's weights saved with NumPy; expected: NumPy's forward pass. */
export const boreholeNpz = () => load('weights/borehole-npz/1.0.0', BOREHOLE_SCHEMAS, /^numpy-/, (j, i) => ({ flow_rate: j.numpy![i] }));
/** The iris classifier (string labels); expected: scikit-learn's predict() and predict_proba(). */
export const irisOnnx = () =>
  load('weights/iris/1.0.0', ['schemas/iris-input.avsc', 'schemas/iris-prediction.avsc'], /^onnx-/, (j, i) => ({ species: j.species![i], probabilities: j.probabilities![i] }));
/** The same classifier trained on integer labels. */
export const irisIntOnnx = () =>
  load('test/fixtures/models/iris-int', ['schemas/iris-input.avsc', 'test/fixtures/models/iris-int/prediction.avsc'], /^onnx-/, (j, i) => ({ species: j.species![i], probabilities: j.probabilities![i] }));

/** Problems with one prediction's fields against Python's (empty when within tolerance). */
export function compareWithPython(actual: Record<string, unknown>, expected: Record<string, unknown>, classes?: readonly (string | number)[]): string[] {
  const problems: string[] = [];
  for (const [field, want] of Object.entries(expected)) {
    const got = actual[field];
    if (got === want) continue; // labels, strings or integers, are equal or wrong
    if (typeof want === 'number') {
      if (typeof got !== 'number' || !(Math.abs(got / want - 1) <= REGRESSION_RTOL)) problems.push(`${field}: ${String(got)}, Python ${want}`);
    } else if (Array.isArray(want)) {
      // probabilities: Avro map (class → p) or array, in the classes' order
      const values = Array.isArray(got) ? got : classes?.map((c) => (got as Record<string, number> | undefined)?.[String(c)]);
      const bad = want.some((p: number, j) => !(Math.abs((values?.[j] as number) - p) <= PROBABILITY_ATOL));
      if (bad) problems.push(`${field}: ${JSON.stringify(got)}, Python ${JSON.stringify(want)}`);
    } else if (got !== want) {
      problems.push(`${field}: ${String(got)}, Python ${String(want)}`);
    }
  }
  return problems;
}
