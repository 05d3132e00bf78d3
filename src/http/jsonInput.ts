import avro from 'avsc';
import type { AvroType } from '../codec/schema.js';
import { ErrorCodes, RecordError } from '../errors.js';
import type { Signature } from '../model/signature.js';
import type { InputFields } from '../scorer/outcome.js';

/** The JSON values an Avro field accepts, from its schema. */
interface FieldRule {
  name: string;
  /** JSON kinds the field's type takes: number (integer-only for int/long), string, boolean; `null` for a nullable field. */
  kinds: ReadonlySet<JsonKind>;
  integer: boolean;
  /** Its default, when the schema gives one: used when the field is absent. */
  fallback?: unknown;
}

type JsonKind = 'number' | 'string' | 'boolean' | 'null';

/** Reads one JSON object of an HTTP request into the scorer's input fields, or the RecordError that stops it. */
export type JsonInputReader = (value: unknown, index: number, requestId?: string) => InputFields | RecordError;

export interface JsonInputOptions {
  /** The id for an input without one (HTTP callers need not send it): e.g. `<request id>-<index>`. */
  defaultId: (index: number, requestId: string) => string;
  now?: () => number;
}

/**
 * JSON inputs (`POST /predict`, the Open Inference Protocol) checked against the input Avro schema, as strictly as
 * the Avro decoder checks Kafka inputs: a field the schema does not have is UNKNOWN_FIELD (a typo must not become a
 * silent null), a value of the wrong JSON type WRONG_TYPE, each naming the field. An absent field takes its schema
 * default (null for the optional measurements: the scorer then answers MISSING_FIELD). The signature's id and event
 * time may be left out: the id defaults to `defaultId(index)`, the event time to now.
 */
export function jsonInputReader(inputType: AvroType, signature: Signature, options: JsonInputOptions): JsonInputReader {
  if (!(inputType instanceof avro.types.RecordType)) throw new TypeError('the input schema must be an Avro record');
  const rules = new Map(inputType.fields.map((f) => [f.name, ruleOf(f.name, f.type, f.defaultValue())]));
  const now = options.now ?? Date.now;
  return (value, index, requestId = '') => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return new RecordError('validate', ErrorCodes.WRONG_TYPE, `an input must be a JSON object with the input schema's fields (got ${kindOf(value)})`);
    }
    const given = value as Record<string, unknown>;
    for (const name of Object.keys(given)) {
      if (!rules.has(name)) {
        return new RecordError('validate', ErrorCodes.UNKNOWN_FIELD, `field ${JSON.stringify(name)} is not in the input schema (${[...rules.keys()].join(', ')})`);
      }
    }
    const fields: InputFields = {};
    for (const rule of rules.values()) {
      let v = given[rule.name];
      if (v === undefined) {
        if (rule.name === signature.idField) v = options.defaultId(index, requestId);
        else if (rule.name === signature.eventTimeField) v = now();
        else if ('fallback' in rule) v = rule.fallback;
        else return new RecordError('validate', ErrorCodes.MISSING_FIELD, `field ${rule.name} is required`);
      }
      const kind = kindOf(v);
      if (!rule.kinds.has(kind as JsonKind) || (rule.integer && kind === 'number' && !Number.isInteger(v))) {
        const want = [...rule.kinds].map((k) => (k === 'number' && rule.integer ? 'integer' : k)).join(' or ');
        return new RecordError('validate', ErrorCodes.WRONG_TYPE, `field ${rule.name} must be ${want} (got ${kind}${kind === 'number' ? ` ${String(v)}` : ''})`);
      }
      fields[rule.name] = v;
    }
    return fields;
  };
}

function ruleOf(name: string, type: avro.Type, fallback: unknown): FieldRule {
  const kinds = new Set<JsonKind>();
  let integer = false;
  const branches = type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType ? type.types : [type];
  for (const branch of branches) {
    const t = branch instanceof avro.types.LogicalType ? branch.underlyingType : branch;
    switch (t.typeName) {
      case 'null':
        kinds.add('null');
        break;
      case 'int':
      case 'long':
        integer = true;
        kinds.add('number');
        break;
      case 'float':
      case 'double':
        kinds.add('number');
        break;
      case 'string':
      case 'enum':
        kinds.add('string');
        break;
      case 'boolean':
        kinds.add('boolean');
        break;
      default:
        // records, arrays, maps, bytes: not something a model input field holds; taken as given
        kinds.add('string');
    }
  }
  // A union of int and double takes any number.
  if (branches.some((b) => ['float', 'double'].includes((b instanceof avro.types.LogicalType ? b.underlyingType : b).typeName))) integer = false;
  return fallback === undefined ? { name, kinds, integer } : { name, kinds, integer, fallback };
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}
