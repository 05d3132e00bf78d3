import { outputLayout } from '../model/outputLayout.js';
import type { Signature } from '../model/signature.js';

/**
 * A prediction's outputs as JSON, from its values in the output layout (src/model/outputLayout.ts): a value as a
 * number, a label as its class (string or integer), probabilities as an object of class → probability.
 */
export function outputJson(signature: Signature): (values: ArrayLike<number>) => Record<string, unknown> {
  const { slots } = outputLayout(signature);
  return (values) => {
    const out: Record<string, unknown> = {};
    for (const { output, offset, width } of slots) {
      if (output.kind === 'value') out[output.field] = values[offset];
      else if (output.kind === 'label') out[output.field] = output.classes[values[offset]!];
      else {
        const probabilities: Record<string, number> = {};
        for (let j = 0; j < width; j++) probabilities[String(output.classes[j])] = values[offset + j]!;
        out[output.field] = probabilities;
      }
    }
    return out;
  };
}

/** One Open Inference Protocol output tensor per signature output, over `rows` predictions' values. */
export function outputTensors(signature: Signature, rows: readonly ArrayLike<number>[], wanted: readonly string[]): { name: string; datatype: string; shape: number[]; data: unknown[] }[] {
  const { slots } = outputLayout(signature);
  return wanted.map((name) => {
    const { output, offset, width } = slots.find((s) => s.output.field === name)!;
    if (output.kind === 'value') return { name, datatype: 'FP64', shape: [rows.length], data: rows.map((v) => v[offset]) };
    if (output.kind === 'label') {
      const strings = typeof output.classes[0] === 'string';
      return { name, datatype: strings ? 'BYTES' : 'INT64', shape: [rows.length], data: rows.map((v) => output.classes[v[offset]!]) };
    }
    return { name, datatype: 'FP64', shape: [rows.length, width], data: rows.flatMap((v) => Array.from({ length: width }, (_, j) => v[offset + j])) };
  });
}

/** The Open Inference Protocol metadata of each signature output. */
export function outputMetadata(signature: Signature): { name: string; datatype: string; shape: number[] }[] {
  return outputLayout(signature).slots.map(({ output, width }) =>
    output.kind === 'value'
      ? { name: output.field, datatype: 'FP64', shape: [-1] }
      : output.kind === 'label'
        ? { name: output.field, datatype: typeof output.classes[0] === 'string' ? 'BYTES' : 'INT64', shape: [-1] }
        : { name: output.field, datatype: 'FP64', shape: [-1, width] },
  );
}
