import avro from 'avsc';
import type { AvroType } from './schema.js';
import type { OutputSlot } from '../model/outputLayout.js';
import { ErrorCodes, StreamserveError } from '../errors.js';

/** Sets one output's field on the record being encoded, from the prediction's values in the output layout. */
export type OutputWriter = (record: Record<string, unknown>, values: ArrayLike<number>) => void;

const NUMBERS = new Set(['double', 'float']);
const INTEGERS = new Set(['int', 'long']);

/** A union with null (an optional field) is written as its other branch. */
function nonNull(type: AvroType): AvroType {
  if (type instanceof avro.types.UnwrappedUnionType) {
    const others = type.types.filter((t: AvroType) => t.typeName !== 'null');
    if (others.length === 1) return others[0]!;
  }
  return type;
}

function refuse(field: string, message: string): StreamserveError {
  return new StreamserveError(ErrorCodes.SCHEMA_INVALID, `output schema field ${field}: ${message}`);
}

/**
 * How an output is written, checked against its Avro field once at startup: a value as a number; a label as
 * a string or an enum holding every class (string classes) or an int or long (integer classes); probabilities as a
 * map of double (class → probability) or an array of double (class order). Throws SCHEMA_INVALID naming the field.
 */
export function outputWriter(slot: OutputSlot, fieldType: AvroType): OutputWriter {
  const { output, offset, width } = slot;
  const field = output.field;
  const type = nonNull(fieldType);
  const name = type.typeName;
  if (output.kind === 'value') {
    // int and long too: a value that is not a whole number then fails its own record (ENCODE_FAILED), as before
    if (!NUMBERS.has(name) && !INTEGERS.has(name)) throw refuse(field, `a value output is written as a number (double, float, int, long), not ${name}`);
    return (record, values) => void (record[field] = values[offset]);
  }
  const classes: readonly (string | number)[] = output.classes;
  const stringClasses = typeof classes[0] === 'string';
  if (output.kind === 'label') {
    if (stringClasses) {
      if (name === 'enum') {
        const symbols = new Set((type as avro.types.EnumType).symbols);
        const absent = classes.filter((c) => !symbols.has(String(c)));
        if (absent.length > 0) throw refuse(field, `the enum lacks class(es) ${absent.join(', ')}`);
      } else if (name !== 'string') {
        throw refuse(field, `a label with string classes is written as string or enum, not ${name}`);
      }
    } else if (!INTEGERS.has(name)) {
      throw refuse(field, `a label with integer classes is written as int or long, not ${name}`);
    }
    return (record, values) => void (record[field] = classes[values[offset]!]);
  }
  const items = name === 'map' ? (type as avro.types.MapType).valuesType : name === 'array' ? (type as avro.types.ArrayType).itemsType : undefined;
  if (items === undefined || !NUMBERS.has(items.typeName)) {
    throw refuse(field, `probabilities are written as a map or an array of double, not ${name === 'map' || name === 'array' ? `${name} of ${items?.typeName}` : name}`);
  }
  if (name === 'array') {
    return (record, values) => void (record[field] = Array.from({ length: width }, (_, j) => values[offset + j]));
  }
  const keys = classes.map(String);
  return (record, values) => {
    const map: Record<string, number> = {};
    for (let j = 0; j < width; j++) map[keys[j]!] = values[offset + j]!;
    record[field] = map;
  };
}
