import avro from 'avsc';
import type { AvroType } from './schema.js';

/**
 * Why a JSON object is not a record of `type`, field by field (empty when it is): a field the schema does not declare
 * (with the declared field it probably meant, e.g. `tu` for `Tu`), a field without a default left out, or a value of
 * the wrong JSON type. avsc alone drops undeclared fields without a word and writes null for a misspelt optional one.
 */
export function jsonInputProblems(type: AvroType, value: unknown): string[] {
  if (!(type instanceof avro.types.RecordType)) return [`the schema ${type.name ?? ''} is not a record`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['not a JSON object'];
  const record = value as Record<string, unknown>;
  const declared = new Map(type.fields.map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const key of Object.keys(record)) {
    if (declared.has(key)) continue;
    const near = type.fields.find((f) => f.name.toLowerCase() === key.toLowerCase());
    problems.push(`unknown field ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near.name)}?)` : ''}`);
  }
  for (const field of type.fields) {
    const v = record[field.name];
    if (v === undefined) {
      if (field.defaultValue() === undefined) problems.push(`field ${JSON.stringify(field.name)} is missing`);
      continue;
    }
    if (!field.type.isValid(v)) problems.push(`field ${JSON.stringify(field.name)}: ${JSON.stringify(v)} is not ${JSON.stringify(field.type.schema())}`);
  }
  return problems;
}
