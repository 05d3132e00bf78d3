import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorCodes, StreamserveError } from '../errors.js';

/**
 * The signature maps Avro fields to tensor columns and tensor columns back to prediction fields.
 * It lives next to the weights as `signature.json` and is the contract between data and model.
 *
 * Input column i = (t(record[field]) - center) / scale, t = identity or natural log.
 * A field with `min`/`max` is valid only inside that closed range (outside → dead letter OUT_OF_RANGE).
 * Output field = t⁻¹(column * scale + center) for a value output; a classifier's outputs are a label and a probability
 * per class (see outputLayout.ts). Signatures without `kind`, `tensor` or `classes` (every one before classifiers)
 * read as before: value outputs of the model's one output tensor, in column order.
 */
const transform = z.enum(['identity', 'log']);

const inputColumn = z
  .object({
    field: z.string().min(1),
    /** The model input (tensor name) the column feeds; absent: the model's only input. Columns keep their order. */
    tensor: z.string().min(1).optional(),
    transform: transform.default('identity'),
    center: z.number().finite().default(0),
    scale: z.number().finite().positive().default(1),
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
  })
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, { message: 'min must be <= max' })
  .refine((c) => c.transform !== 'log' || c.min === undefined || c.min > 0, {
    message: 'a log-transformed input needs min > 0',
  });

/** A classifier's classes in the model's order: all strings or all integers, each once. */
const classes = z
  .union([z.array(z.string().min(1)).min(1), z.array(z.number().int()).min(1)])
  .refine((c: readonly (string | number)[]) => new Set(c).size === c.length, { message: 'classes must be distinct' });

/** One number: a column of an output tensor, unscaled (the only kind before classifiers; `kind` may be left out). */
const valueOutput = z.object({
  field: z.string().min(1),
  kind: z.literal('value'),
  /** The model output (tensor name); absent: the model's only output. */
  tensor: z.string().min(1).optional(),
  /** Column of a [batch, columns] tensor; absent: the value outputs naming the same tensor take columns 0, 1, … in order. */
  column: z.number().int().nonnegative().optional(),
  transform: transform.default('identity'),
  center: z.number().finite().default(0),
  scale: z.number().finite().positive().default(1),
});

/**
 * A class label: from a label tensor ([batch] or [batch, 1], strings or integers, each one of `classes`), or the
 * argmax of a [batch, classes] scores tensor. Written as the class itself (Avro string or enum; int or long).
 */
const labelOutput = z.object({
  field: z.string().min(1),
  kind: z.literal('label'),
  tensor: z.string().min(1).optional(),
  classes,
});

/** One probability per class from a [batch, classes] tensor; written as an Avro map (class → p) or array. */
const probabilitiesOutput = z.object({
  field: z.string().min(1),
  kind: z.literal('probabilities'),
  tensor: z.string().min(1).optional(),
  classes,
});

const outputColumn = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !('kind' in v) ? { ...v, kind: 'value' } : v),
  z.discriminatedUnion('kind', [valueOutput, labelOutput, probabilitiesOutput]),
);

/** Activations of a NumPy dense network (model.npz), one per layer. */
export const Activations = ['identity', 'linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const;

export const signatureSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    /** Avro field that identifies an input; copied to the prediction. */
    idField: z.string().min(1).default('id'),
    /** Avro field holding the input's event time (timestamp-millis); copied to the prediction. */
    eventTimeField: z.string().min(1).default('event_time'),
    inputs: z.array(inputColumn).min(1),
    outputs: z.array(outputColumn).min(1),
    /** For a NumPy dense network (model.npz): each layer's activation, in layer order. Other runtimes refuse it. */
    activations: z.array(z.enum(Activations)).min(1).optional(),
    /** Free-form provenance written by `train` or the script that made the model (seed, epochs, held-out error). */
    training: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((s) => new Set(s.outputs.map((o) => o.field)).size === s.outputs.length, {
    message: 'each output field may be written once',
    path: ['outputs'],
  });

export type Signature = z.infer<typeof signatureSchema>;
export type InputColumn = Signature['inputs'][number];
export type OutputColumn = Signature['outputs'][number];
export type ValueOutput = Extract<OutputColumn, { kind: 'value' }>;

export function parseSignature(json: unknown, source = 'signature'): Signature {
  const parsed = signatureSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `${source} is invalid: ${problems.join('; ')}`);
  }
  return Object.freeze(parsed.data);
}

export async function loadSignature(path: string): Promise<Signature> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `cannot read ${path}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.SIGNATURE_INVALID, `${path} is not JSON`, { cause });
  }
  return parseSignature(json, path);
}

export function scaleInput(column: InputColumn, value: number): number {
  const t = column.transform === 'log' ? Math.log(value) : value;
  return (t - column.center) / column.scale;
}

/** A value output's number from the model's scaled space; labels (class indexes) and probabilities pass unchanged. */
export function unscaleOutput(column: OutputColumn, value: number): number {
  if (column.kind !== 'value') return value;
  const t = value * column.scale + column.center;
  return column.transform === 'log' ? Math.exp(t) : t;
}
