import { readFile } from 'node:fs/promises';
import avro from 'avsc';
import type { Signature } from '../model/signature.js';
import { ErrorCodes, StreamserveError } from '../errors.js';

export type AvroType = avro.Type;
export type AvroResolver = avro.Resolver;

/** Reads an .avsc file into an avsc Type. Logical types stay as their underlying type (timestamps as numbers). */
export async function loadAvroSchema(path: string): Promise<AvroType> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.SCHEMA_INVALID, `cannot read Avro schema ${path}`, { cause });
  }
  try {
    return avro.Type.forSchema(JSON.parse(text) as avro.Schema);
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.SCHEMA_INVALID, `${path} is not a valid Avro schema: ${String(cause)}`, {
      cause,
    });
  }
}

/** Names of a record type's fields, for checking a signature against a schema at startup. */
export function recordFieldNames(type: AvroType): string[] {
  if (!(type instanceof avro.types.RecordType)) return [];
  return type.fields.map((f) => f.name);
}

/** The type of a record type's field, or undefined when there is no such field. */
export function recordFieldType(type: AvroType, name: string): AvroType | undefined {
  if (!(type instanceof avro.types.RecordType)) return undefined;
  return type.fields.find((f) => f.name === name)?.type;
}

/** Every field the signature reads must exist in the input schema, or no record could ever be scored. */
export function checkInputSchema(signature: Signature, fields: string[], path: string): void {
  const have = new Set(fields);
  const needed = [signature.idField, signature.eventTimeField, ...signature.inputs.map((c) => c.field)];
  const missing = needed.filter((f) => !have.has(f));
  if (missing.length > 0) {
    throw new StreamserveError(ErrorCodes.SCHEMA_INVALID, `input schema ${path} lacks field(s) the model signature reads: ${missing.join(', ')}`);
  }
}
