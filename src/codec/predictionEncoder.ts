import type { AvroType } from './schema.js';
import { recordFieldNames, recordFieldType } from './schema.js';
import type { Signature } from '../model/signature.js';
import { outputLayout } from '../model/outputLayout.js';
import { outputWriter } from './outputFields.js';
import { ErrorCodes, RecordError, StreamserveError, messageOf } from '../errors.js';

export interface PredictionFields {
  id: string;
  eventTime: number;
  scoredAt: number;
  /** Output values in the signature's output layout (src/model/outputLayout.ts), already unscaled. */
  outputs: ArrayLike<number>;
}

export interface PredictionEncoder {
  encode(prediction: PredictionFields): Buffer;
}

/** Fields streamserve fills in besides the id and the model outputs; each is written only if the schema has it. */
const META_FIELDS = ['model_name', 'model_version', 'event_time', 'scored_at'] as const;

/**
 * Encodes predictions with the output schema. Checked once at startup: the schema must have the id field and one
 * field per signature output, of a type that output can be written as (outputFields.ts). Per-record failures are
 * RecordErrors of stage `encode`.
 */
export function avroPredictionEncoder(type: AvroType, signature: Signature): PredictionEncoder {
  const fields = new Set(recordFieldNames(type));
  const required = [signature.idField, ...signature.outputs.map((o) => o.field)];
  const missing = required.filter((f) => !fields.has(f));
  if (missing.length > 0) {
    throw new StreamserveError(
      ErrorCodes.SCHEMA_INVALID,
      `output schema ${type.name ?? ''} lacks field(s) the model signature writes: ${missing.join(', ')}`,
    );
  }
  const meta = META_FIELDS.filter((f) => fields.has(f));
  const writers = outputLayout(signature).slots.map((slot) => outputWriter(slot, recordFieldType(type, slot.output.field)!));

  return {
    encode(prediction) {
      const record: Record<string, unknown> = { [signature.idField]: prediction.id };
      for (const write of writers) write(record, prediction.outputs);
      for (const f of meta) {
        if (f === 'model_name') record[f] = signature.name;
        else if (f === 'model_version') record[f] = signature.version;
        else if (f === 'event_time') record[f] = prediction.eventTime;
        else record[f] = prediction.scoredAt;
      }
      try {
        return type.toBuffer(record);
      } catch (err) {
        throw new RecordError('encode', ErrorCodes.ENCODE_FAILED, `cannot encode prediction: ${messageOf(err)}`);
      }
    },
  };
}
