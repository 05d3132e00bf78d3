import avro from 'avsc';
import type { AvroType } from './schema.js';
import { messageOf } from '../errors.js';

/**
 * Why values written with `writer` cannot feed the model through `reader`, field by field; empty when they can.
 * A field the model needs must be in the writer schema (by name or one of the reader field's aliases) with a type
 * the reader's type resolves (same, promoted, or a union branch); a reader default would give every record the same
 * value, which is no input. The rest of the record must resolve as a whole (fields added with defaults, removed,
 * reordered).
 */
export function resolutionProblems(reader: AvroType, writer: AvroType, needed: readonly string[]): string[] {
  if (!(reader instanceof avro.types.RecordType)) return [`the reader schema ${reader.name ?? ''} is not a record`];
  if (!(writer instanceof avro.types.RecordType)) return [`the writer schema is a ${writer.typeName}, not a record`];
  const problems: string[] = [];
  for (const name of needed) {
    const field = reader.field(name);
    if (!field) continue; // the reader schema itself is checked against the signature elsewhere
    const names = new Set([field.name, ...field.aliases]);
    const written = writer.fields.find((f) => names.has(f.name));
    if (!written) {
      problems.push(`field ${name}: not in the writer schema (the model needs it)`);
      continue;
    }
    try {
      field.type.createResolver(written.type, { ignoreNamespaces: true });
    } catch {
      problems.push(`field ${name}: written as ${typeText(written.type)}, which cannot be read as ${typeText(field.type)}`);
    }
  }
  if (problems.length === 0) {
    try {
      reader.createResolver(writer, { ignoreNamespaces: true });
    } catch (err) {
      problems.push(messageOf(err));
    }
  }
  return problems;
}

function typeText(type: AvroType): string {
  return JSON.stringify(type.schema());
}
