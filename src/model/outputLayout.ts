import type { OutputColumn, Signature } from './signature.js';
import { unscaleOutput } from './signature.js';

/**
 * How a signature's outputs lie in the raw rows a runtime returns (ModelRuntime.predict): each output takes `width`
 * columns from `offset` — a value one, a label one (the index of its class in `classes`), probabilities one per class.
 * Every runtime fills rows in this layout, whatever tensors its model has; the scorer unscales them and the encoder
 * writes each output as its Avro field.
 */
export interface OutputSlot {
  readonly output: OutputColumn;
  readonly offset: number;
  readonly width: number;
}

export function outputLayout(signature: Signature): { slots: readonly OutputSlot[]; width: number } {
  const slots: OutputSlot[] = [];
  let offset = 0;
  for (const output of signature.outputs) {
    const width = output.kind === 'probabilities' ? output.classes.length : 1;
    slots.push({ output, offset, width });
    offset += width;
  }
  return { slots, width: offset };
}

/** The number of raw columns a runtime returns per row for `signature`. */
export function outputWidth(signature: Signature): number {
  return outputLayout(signature).width;
}

/**
 * One raw row (`width` columns from `start`) as prediction values: value outputs unscaled, labels and probabilities as
 * they are. Returns the values, or why the row cannot be a prediction (a value that is not finite, a label that is not
 * one of the classes, a probability outside [0, 1]).
 */
export function predictionValues(slots: readonly OutputSlot[], raw: ArrayLike<number>, start: number, width: number): Float64Array | string {
  const values = new Float64Array(width);
  for (const { output, offset, width: w } of slots) {
    for (let j = offset; j < offset + w; j++) {
      const v = unscaleOutput(output, raw[start + j]!);
      if (output.kind === 'label' && (!Number.isInteger(v) || v < 0 || v >= output.classes.length)) {
        return `model output ${output.field} is not one of the signature's ${output.classes.length} classes`;
      }
      if (!Number.isFinite(v)) return `model output ${output.field} is not finite`;
      // float32 rounding can put a probability a hair outside [0, 1]; more than that is not a probability
      if (output.kind === 'probabilities' && (v < -1e-6 || v > 1 + 1e-6)) return `model output ${output.field} has ${v}, not a probability`;
      values[j] = v;
    }
  }
  return values;
}
