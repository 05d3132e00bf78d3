import type { AvroType } from './schema.js';
import { ErrorCodes, RecordError, messageOf } from '../errors.js';
import type { InputFields } from '../scorer/outcome.js';

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
      let result: { value: unknown; offset: number };
      try {
        result = reader.decode(value, 0);
      } catch (err) {
        throw new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `not a ${reader.name ?? 'record'}: ${messageOf(err)}`);
      }
      if (result.offset < 0) {
        throw new RecordError(
          'decode',
          ErrorCodes.UNDECODABLE_VALUE,
          `truncated: ${value.length} bytes are not a complete ${reader.name ?? 'record'}`,
        );
      }
      if (result.offset !== value.length) {
        throw new RecordError(
          'decode',
          ErrorCodes.TRAILING_BYTES,
          `${value.length - result.offset} bytes left after a ${reader.name ?? 'record'} (written with another schema?)`,
        );
      }
      return result.value as InputFields;
    },
  };
}
