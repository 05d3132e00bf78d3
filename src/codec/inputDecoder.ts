import type { AvroResolver, AvroType } from './schema.js';
import { ErrorCodes, RecordError, messageOf } from '../errors.js';
import type { InputFields } from '../scorer/outcome.js';
import type { DependencyHealth } from '../dependencyHealth.js';

/** How input values are framed on the wire. `confluent` (magic byte + schema id) needs a Schema Registry. */
export const WireFormats = ['raw', 'confluent'] as const;
export type WireFormat = (typeof WireFormats)[number];

/**
 * Turns a Kafka message value into the scorer's input fields. A failure of the record itself is a RecordError
 * (stage `decode`) that becomes its dead letter. A decoder that needs I/O (a registry lookup) may return a promise;
 * one that rejects with anything but a RecordError says a dependency is down: the record is not poison, and its
 * batch is fetched again.
 */
export interface InputDecoder {
  decode(value: Buffer | null): InputFields | Promise<InputFields>;
  /**
   * The dependency the decoder needs (a Schema Registry), when it has one: while it is unhealthy the input takes
   * nothing in, and readiness names it.
   */
  readonly health?: DependencyHealth;
  /** Stops what the decoder runs in the background (retries); idempotent. */
  close?(): void;
}

/** A decoder that never needs I/O. */
export interface SyncInputDecoder extends InputDecoder {
  decode(value: Buffer | null): InputFields;
}

/** Bare Avro binary written with (a schema identical to) the reader schema. */
export function rawAvroDecoder(reader: AvroType): SyncInputDecoder {
  return {
    decode(value) {
      if (value === null || value.length === 0) {
        throw new RecordError('decode', ErrorCodes.EMPTY_VALUE, value === null ? 'value is null' : 'value is empty');
      }
      return readAvro(reader, value, 0);
    },
  };
}

/**
 * Reads one Avro record from `value[start..]` to its very end: with `resolver` (avsc's createResolver) the bytes were
 * written with another, compatible schema; without, with the reader schema itself. `schemaId` goes into the error.
 */
export function readAvro(reader: AvroType, value: Buffer, start: number, resolver?: AvroResolver, schemaId?: number): InputFields {
  const options = schemaId === undefined ? {} : { schemaId };
  let result: { value: unknown; offset: number };
  try {
    result = reader.decode(value, start, resolver);
  } catch (err) {
    throw new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `not a ${reader.name ?? 'record'}: ${messageOf(err)}`, options);
  }
  if (result.offset < 0) {
    throw new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `truncated: ${value.length - start} bytes are not a complete ${reader.name ?? 'record'}`, options);
  }
  if (result.offset !== value.length) {
    throw new RecordError(
      'decode',
      ErrorCodes.TRAILING_BYTES,
      `${value.length - result.offset} bytes left after a ${reader.name ?? 'record'} (written with another schema?)`,
      options,
    );
  }
  return result.value as InputFields;
}
