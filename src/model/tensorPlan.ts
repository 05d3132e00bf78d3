import { ErrorCodes, StreamserveError } from '../errors.js';
import { outputLayout } from './outputLayout.js';
import type { OutputColumn, Signature } from './signature.js';

/**
 * How a signature meets a model with named input and output tensors (ONNX): which row columns feed which input, and
 * how each output's raw columns (outputLayout.ts) are read from the output tensors. Built once at load from the
 * model's own metadata, so a signature written for another model is refused then, with every disagreement named.
 */

/** A model input or output as its metadata declares it. `shape` absent: not a tensor (a sequence or a map). */
export interface TensorInfo {
  name: string;
  type?: string;
  /** Dimensions; a string, a negative or an oversized number is a dynamic one (the batch). */
  shape?: readonly (number | string)[];
}

const NUMERIC = ['float32', 'float64', 'int32', 'int64'] as const;
export type NumericType = (typeof NUMERIC)[number];
const isNumeric = (type: string | undefined): type is NumericType => NUMERIC.some((t) => t === type);

/** One model input: its element type and the row columns that feed it, in order. */
export interface InputFeed {
  name: string;
  type: NumericType;
  columns: readonly number[];
}

/** What a run returns for one output tensor. */
export interface TensorData {
  data: ArrayLike<number | bigint | string>;
  dims: readonly number[];
}

/** Writes one output's raw columns for `count` rows into `out` (rows of `width`); throws BAD_MODEL_OUTPUT. */
type Reader = (tensors: Readonly<Record<string, TensorData>>, count: number, out: Float32Array, width: number) => void;

export interface TensorPlan {
  feeds: readonly InputFeed[];
  /** The output tensors to fetch. */
  fetches: readonly string[];
  readers: readonly Reader[];
}

/** A fixed size, or undefined for a dynamic dimension. */
function fixed(dim: number | string | undefined): number | undefined {
  return typeof dim === 'number' && dim >= 0 && dim < 2 ** 31 ? dim : undefined;
}

function badOutput(message: string): StreamserveError {
  return new StreamserveError(ErrorCodes.BAD_MODEL_OUTPUT, message);
}

/** A [count] or [count, columns] tensor's columns, checked against the batch. */
function columnsOf(name: string, t: TensorData, count: number): number {
  if (t.dims[0] !== count || t.dims.length > 2) throw badOutput(`model output ${name} has shape [${t.dims.join(', ')}] for ${count} rows`);
  return t.dims.length === 2 ? t.dims[1]! : 1;
}

const names = (infos: readonly TensorInfo[]) => infos.map((i) => i.name).join(', ') || 'none';

export function planTensors(signature: Signature, inputs: readonly TensorInfo[], outputs: readonly TensorInfo[], dir: string): TensorPlan {
  const problems: string[] = [];
  const feeds = planFeeds(signature, inputs, problems);
  const { slots } = outputLayout(signature);
  const readers: Reader[] = [];
  const fetches = new Set<string>();
  const valueColumns = new Map<string, number>();
  for (const slot of slots) {
    const output = slot.output;
    const info = tensorOf(output.tensor, outputs, `output ${output.field}`, 'output', problems);
    if (info === undefined) continue;
    fetches.add(info.name);
    let column = 0;
    if (output.kind === 'value') {
      column = output.column ?? valueColumns.get(info.name) ?? 0;
      valueColumns.set(info.name, column + 1);
    }
    const reader = planOutput(output, info, column, slot.offset, problems);
    if (reader) readers.push(reader);
  }
  if (problems.length > 0) {
    throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `signature.json does not fit model ${dir}: ${problems.join('; ')}`);
  }
  return { feeds, fetches: [...fetches], readers };
}

/** The tensor an input column or output names, or the model's only one when it names none. */
function tensorOf(name: string | undefined, infos: readonly TensorInfo[], what: string, side: string, problems: string[]): TensorInfo | undefined {
  if (name === undefined) {
    if (infos.length === 1) return infos[0];
    problems.push(`${what} names no tensor and the model has ${infos.length} ${side}s (${names(infos)}): name one with "tensor"`);
    return undefined;
  }
  const info = infos.find((i) => i.name === name);
  if (info === undefined) problems.push(`${what} reads tensor "${name}", which is not an ${side} of the model (its ${side}s: ${names(infos)})`);
  return info;
}

function planFeeds(signature: Signature, inputs: readonly TensorInfo[], problems: string[]): InputFeed[] {
  const columns = new Map<TensorInfo, number[]>();
  signature.inputs.forEach((c, i) => {
    const info = tensorOf(c.tensor, inputs, `input column ${c.field}`, 'input', problems);
    if (info !== undefined) columns.set(info, [...(columns.get(info) ?? []), i]);
  });
  const feeds: InputFeed[] = [];
  for (const info of inputs) {
    const fed = columns.get(info);
    if (fed === undefined) {
      problems.push(`model input "${info.name}" is fed by no signature input column`);
      continue;
    }
    const fields = fed.map((i) => signature.inputs[i]!.field).join(', ');
    if (info.shape === undefined) {
      problems.push(`model input "${info.name}" is not a tensor`);
    } else if (!isNumeric(info.type)) {
      problems.push(`model input "${info.name}" holds ${info.type ?? 'unknown'} values; streamserve feeds numbers (${NUMERIC.join(', ')})`);
    } else if (info.shape.length !== 2) {
      problems.push(`model input "${info.name}" has shape [${info.shape.join(', ')}]; a [batch, columns] tensor is needed`);
    } else {
      const width = fixed(info.shape[1]);
      if (width !== undefined && width !== fed.length) {
        problems.push(`model input "${info.name}" takes ${width} columns but signature.json feeds it ${fed.length} (${fields})`);
      }
      if (fixed(info.shape[0]) !== undefined) problems.push(`model input "${info.name}" has a fixed batch size ${info.shape[0]}; export it with a dynamic batch dimension`);
      feeds.push({ name: info.name, type: info.type, columns: fed });
    }
  }
  return feeds;
}

function planOutput(output: OutputColumn, info: TensorInfo, column: number, offset: number, problems: string[]): Reader | undefined {
  const name = info.name;
  const where = `output ${output.field} (model output "${name}")`;
  if (info.shape === undefined) {
    problems.push(`${where} is not a tensor (a sequence or map, such as scikit-learn's ZipMap): export the classifier with zipmap off`);
    return undefined;
  }
  const rank = info.shape.length;
  const width = rank === 2 ? fixed(info.shape[1]) : rank === 1 ? 1 : undefined;
  if (rank !== 1 && rank !== 2) {
    problems.push(`${where} has shape [${info.shape.join(', ')}]; a [batch] or [batch, columns] tensor is needed`);
    return undefined;
  }
  if (output.kind === 'value') {
    if (!isNumeric(info.type)) problems.push(`${where} holds ${info.type} values; a value output needs numbers`);
    if (width !== undefined && column >= width) problems.push(`${where} reads column ${column} of a tensor with ${width} column(s)`);
    return (tensors, count, out, w) => {
      const t = tensors[name]!;
      const columns = columnsOf(name, t, count);
      if (column >= columns) throw badOutput(`model output ${name} has ${columns} column(s); ${output.field} reads column ${column}`);
      for (let i = 0; i < count; i++) out[i * w + offset] = Number(t.data[i * columns + column]);
    };
  }
  const classes: readonly (string | number)[] = output.classes;
  const stringClasses = typeof classes[0] === 'string';
  const scores = isNumeric(info.type) && info.type.startsWith('float') && rank === 2;
  if (output.kind === 'probabilities' || scores) {
    if (!isNumeric(info.type) || rank !== 2) {
      problems.push(`${where} is ${info.type} [${info.shape.join(', ')}]; ${output.kind === 'label' ? 'a label from scores' : 'probabilities'} need a [batch, classes] number tensor`);
    } else if (width !== undefined && width !== classes.length) {
      problems.push(`${where} has ${width} columns but the signature lists ${classes.length} classes (${classes.join(', ')})`);
    }
    const argmax = output.kind === 'label';
    return (tensors, count, out, w) => {
      const t = tensors[name]!;
      const columns = columnsOf(name, t, count);
      if (columns !== classes.length) throw badOutput(`model output ${name} has ${columns} columns for ${classes.length} classes`);
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let j = 0; j < columns; j++) {
          const v = Number(t.data[i * columns + j]);
          if (argmax) best = v > Number(t.data[i * columns + best]) ? j : best;
          else out[i * w + offset + j] = v;
        }
        if (argmax) out[i * w + offset] = best;
      }
    };
  }
  // a label tensor: each row's class itself
  const labelType = info.type === 'string' ? 'string' : isNumeric(info.type) ? 'integer' : info.type;
  if (labelType !== (stringClasses ? 'string' : 'integer')) {
    problems.push(`${where} holds ${info.type} labels but the signature's classes are ${stringClasses ? 'strings' : 'integers'}`);
  }
  if (width !== undefined && width !== 1) problems.push(`${where} has ${width} columns; a label tensor has one`);
  const index = new Map<string, number>(classes.map((c, i) => [String(c), i]));
  return (tensors, count, out, w) => {
    const t = tensors[name]!;
    if (columnsOf(name, t, count) !== 1) throw badOutput(`model output ${name} has shape [${t.dims.join(', ')}]; a label tensor has one column`);
    // a label outside the classes becomes NaN: that row is a BAD_MODEL_OUTPUT dead letter (outputLayout.ts)
    for (let i = 0; i < count; i++) out[i * w + offset] = index.get(String(t.data[i])) ?? Number.NaN;
  };
}
