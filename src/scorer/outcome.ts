import type { RecordError } from '../errors.js';

/** One input as the scorer takes it: field values by name, whatever the wire format they came in (Avro, JSON). */
export type InputFields = Record<string, unknown>;

/** A scored input: its id and event time (from the signature's fields) and the model's unscaled outputs. */
export interface Prediction {
  id: string;
  eventTime: number;
  /** Output values in signature output order. */
  outputs: Float64Array;
}

/** What became of one input: a prediction, or the per-record error (with its stable code) that stopped it. */
export type Outcome = Prediction | RecordError;
