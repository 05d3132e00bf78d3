import { ErrorCodes, RecordError } from '../errors.js';

/** Confluent's wire format: magic byte 0, then the schema id as a 4-byte big-endian int, then the Avro binary. */
export const MAGIC_BYTE = 0;
export const FRAME_HEADER_BYTES = 5;

/** The 5-byte header framing values written with the schema of `id`. */
export function frameHeader(id: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header[0] = MAGIC_BYTE;
  header.writeInt32BE(id, 1);
  return header;
}

/** The schema id of a framed value, or the record's error: empty, too short, or not starting with the magic byte. */
export function decodeFrame(value: Buffer | null): number {
  if (value === null || value.length === 0) {
    throw new RecordError('decode', ErrorCodes.EMPTY_VALUE, value === null ? 'value is null' : 'value is empty');
  }
  if (value.length < FRAME_HEADER_BYTES || value[0] !== MAGIC_BYTE) {
    throw new RecordError(
      'decode',
      ErrorCodes.NOT_REGISTRY_FRAMED,
      value[0] !== MAGIC_BYTE
        ? `first byte is ${value[0]}, not the Schema Registry magic byte 0 (WIRE_FORMAT=confluent)`
        : `${value.length} bytes: shorter than the 5-byte Schema Registry header (WIRE_FORMAT=confluent)`,
    );
  }
  return value.readInt32BE(1);
}
