import type { PredictionEncoder } from './predictionEncoder.js';
import { FRAME_HEADER_BYTES, frameHeader } from './confluentFrame.js';

/**
 * Predictions in the Confluent wire format (`OUTPUT_WIRE_FORMAT=confluent`): the 5-byte header of the output
 * schema's registry id, then what `inner` encodes (Avro binary with the output schema).
 */
export function confluentPredictionEncoder(inner: PredictionEncoder, schemaId: number): PredictionEncoder {
  const header = frameHeader(schemaId);
  return {
    encode(prediction) {
      const body = inner.encode(prediction);
      const framed = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
      header.copy(framed, 0);
      body.copy(framed, FRAME_HEADER_BYTES);
      return framed;
    },
  };
}
