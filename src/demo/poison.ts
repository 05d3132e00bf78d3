import type { AvroType } from '../codec/schema.js';
import { BOREHOLE_RANGES, type BoreholeInput } from '../model/borehole.js';
import { ErrorCodes, type ErrorCode, type Stage } from '../errors.js';

/** One kind of bad input and the dead letter streamserve must turn it into. */
export interface PoisonKind {
  name: string;
  stage: Stage;
  code: ErrorCode;
  /** The value to publish (null = a Kafka null value), built from a valid input. */
  value(type: AvroType, id: string, good: BoreholeInput): Buffer | null;
}

const encode = (type: AvroType, id: string, fields: Record<string, unknown>) => type.toBuffer({ id, event_time: Date.now(), ...fields });

/** Every kind of poison the decode and validate stages recognise, for the demo and the tests. */
export const POISON_KINDS: readonly PoisonKind[] = [
  { name: 'null value', stage: 'decode', code: ErrorCodes.EMPTY_VALUE, value: () => null },
  { name: 'empty value', stage: 'decode', code: ErrorCodes.EMPTY_VALUE, value: () => Buffer.alloc(0) },
  {
    name: 'random bytes',
    stage: 'decode',
    // 0xff.. as a zig-zag varint string length is negative or huge: avsc cannot read a record from it
    code: ErrorCodes.UNDECODABLE_VALUE,
    value: () => Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]),
  },
  {
    name: 'truncated avro',
    stage: 'decode',
    code: ErrorCodes.UNDECODABLE_VALUE,
    value: (type, id, good) => {
      const full = encode(type, id, good);
      return full.subarray(0, full.length - 5);
    },
  },
  {
    name: 'trailing bytes',
    stage: 'decode',
    code: ErrorCodes.TRAILING_BYTES,
    value: (type, id, good) => Buffer.concat([encode(type, id, good), Buffer.from([1, 2, 3])]),
  },
  { name: 'missing field', stage: 'validate', code: ErrorCodes.MISSING_FIELD, value: (type, id, good) => encode(type, id, { ...good, Tu: null }) },
  { name: 'NaN field', stage: 'validate', code: ErrorCodes.NOT_A_NUMBER, value: (type, id, good) => encode(type, id, { ...good, Hu: Number.NaN }) },
  {
    name: 'infinite field',
    stage: 'validate',
    code: ErrorCodes.NOT_FINITE,
    value: (type, id, good) => encode(type, id, { ...good, L: Number.POSITIVE_INFINITY }),
  },
  {
    name: 'out of range',
    stage: 'validate',
    code: ErrorCodes.OUT_OF_RANGE,
    value: (type, id, good) => encode(type, id, { ...good, rw: BOREHOLE_RANGES.rw[1] * 2 }),
  },
];
