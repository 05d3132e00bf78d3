import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorCodes, StreamserveError } from '../errors.js';

/**
 * The signature maps Avro fields to tensor columns and tensor columns back to prediction fields.
 * It lives next to the weights as `signature.json` and is the contract between data and model.
 *
 * Input column i = (t(record[field]) - center) / scale, t = identity or natural log.
 * A field with `min`/`max` is valid only inside that closed range (outside → dead letter OUT_OF_RANGE).
 * Output field = t⁻¹(column * scale + center).
 */
const transform = z.enum(['identity', 'log']);

const inputColumn = z
  .object({
    field: z.string().min(1),
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

const outputColumn = z.object({
  field: z.string().min(1),
  transform: transform.default('identity'),
  center: z.number().finite().default(0),
  scale: z.number().finite().positive().default(1),
});

export const signatureSchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  /** Avro field that identifies an input; copied to the prediction. */
  idField: z.string().min(1).default('id'),
  /** Avro field holding the input's event time (timestamp-millis); copied to the prediction. */
  eventTimeField: z.string().min(1).default('event_time'),
  inputs: z.array(inputColumn).min(1),
  outputs: z.array(outputColumn).min(1),
  /** Free-form provenance written by `train` (seed, epochs, held-out error). */
  training: z.record(z.string(), z.unknown()).optional(),
});

export type Signature = z.infer<typeof signatureSchema>;
export type InputColumn = Signature['inputs'][number];
export type OutputColumn = Signature['outputs'][number];

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

export function unscaleOutput(column: OutputColumn, value: number): number {
  const t = value * column.scale + column.center;
  return column.transform === 'log' ? Math.exp(t) : t;
}
