import type { Signature } from '../model/signature.js';
import { scaleInput } from '../model/signature.js';
import type { InputFields } from './outcome.js';
import { ErrorCodes, RecordError } from '../errors.js';

/** What the model path needs from one valid input. */
export interface Features {
  id: string;
  eventTime: number;
  /** Scaled feature values, in signature column order. */
  row: Float32Array;
}

/**
 * Validates a decoded input against the signature and scales it into one model row. Pure. Failures are
 * RecordErrors of stage `validate`, one code per kind: missing, NaN, infinite, out of range.
 */
export function featurize(signature: Signature, input: InputFields): Features {
  const id = input[signature.idField];
  if (typeof id !== 'string') {
    throw new RecordError('validate', ErrorCodes.MISSING_FIELD, `field ${signature.idField} is missing or not a string`);
  }
  const eventTime = input[signature.eventTimeField];
  if (typeof eventTime !== 'number' || !Number.isFinite(eventTime)) {
    throw new RecordError('validate', ErrorCodes.MISSING_FIELD, `field ${signature.eventTimeField} is missing`);
  }
  const row = new Float32Array(signature.inputs.length);
  for (let i = 0; i < signature.inputs.length; i++) {
    const column = signature.inputs[i]!;
    const value = input[column.field];
    if (value === null || value === undefined) {
      throw new RecordError('validate', ErrorCodes.MISSING_FIELD, `field ${column.field} is missing`);
    }
    if (typeof value !== 'number') {
      throw new RecordError('validate', ErrorCodes.MISSING_FIELD, `field ${column.field} is not a number`);
    }
    if (Number.isNaN(value)) {
      throw new RecordError('validate', ErrorCodes.NOT_A_NUMBER, `field ${column.field} is NaN`);
    }
    if (!Number.isFinite(value)) {
      throw new RecordError('validate', ErrorCodes.NOT_FINITE, `field ${column.field} is ${value}`);
    }
    if ((column.min !== undefined && value < column.min) || (column.max !== undefined && value > column.max)) {
      throw new RecordError(
        'validate',
        ErrorCodes.OUT_OF_RANGE,
        `field ${column.field} = ${value} is outside [${column.min ?? '-inf'}, ${column.max ?? 'inf'}]`,
      );
    }
    row[i] = scaleInput(column, value);
  }
  return { id, eventTime, row };
}
