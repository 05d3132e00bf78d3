import { borehole, type BoreholeInput } from './borehole.js';
import type { ModelRuntime } from './model.js';
import { scaleInput, unscaleOutput } from './signature.js';

/**
 * Scores borehole inputs the way serving does — signature scaling in, ModelRuntime.predict, signature unscaling out —
 * and compares with the true function. `train` uses it for the held-out check and tests use it for accuracy, so
 * both measure the artefacts a user would actually serve, not the in-memory training graph.
 */

export interface Accuracy {
  count: number;
  /** Mean absolute percentage error, as a fraction (0.01 = 1 %). */
  mape: number;
  /** Largest absolute percentage error, as a fraction. */
  maxApe: number;
}

/** Model rows (row-major, signature column order) for records keyed by the signature's input fields. */
export function featurize(model: Pick<ModelRuntime, 'signature'>, records: readonly Readonly<Record<string, number>>[]): Float32Array {
  const columns = model.signature.inputs;
  const rows = new Float32Array(records.length * columns.length);
  records.forEach((record, i) => {
    columns.forEach((column, j) => {
      const value = record[column.field];
      if (value === undefined) throw new Error(`record ${i} has no field ${column.field}`);
      rows[i * columns.length + j] = scaleInput(column, value);
    });
  });
  return rows;
}

/** Predicted values of the signature's first output field, in natural units. */
export async function predictFirstOutput(model: ModelRuntime, records: readonly Readonly<Record<string, number>>[], batchSize = 512): Promise<Float64Array> {
  const column = model.signature.outputs[0];
  if (column === undefined) throw new Error('signature has no outputs');
  const predictions = new Float64Array(records.length);
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = records.slice(start, start + batchSize);
    const raw = await model.predict(featurize(model, batch), batch.length);
    for (let i = 0; i < batch.length; i++) {
      predictions[start + i] = unscaleOutput(column, raw[i * model.outputWidth] ?? Number.NaN);
    }
  }
  return predictions;
}

/** Accuracy of a borehole model against the true function on `inputs`. */
export async function boreholeAccuracy(model: ModelRuntime, inputs: readonly BoreholeInput[]): Promise<Accuracy> {
  const predicted = await predictFirstOutput(model, inputs);
  let sum = 0;
  let max = 0;
  inputs.forEach((input, i) => {
    const truth = borehole(input);
    // A NaN prediction must fail the check, not vanish from the mean.
    const ape = Math.abs(((predicted[i] ?? Number.NaN) - truth) / truth);
    const counted = Number.isFinite(ape) ? ape : Number.POSITIVE_INFINITY;
    sum += counted;
    max = Math.max(max, counted);
  });
  return { count: inputs.length, mape: inputs.length === 0 ? 0 : sum / inputs.length, maxApe: max };
}
