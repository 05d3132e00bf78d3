/**
 * Every failure streamserve reports carries a stable `code` from this list. Callers branch on the code,
 * never on message text. Dead-letter headers, logs, metrics and the README all use these codes.
 */
export const ErrorCodes = {
  // decode stage: the bytes could not be read as an input record
  EMPTY_VALUE: 'EMPTY_VALUE',
  UNDECODABLE_VALUE: 'UNDECODABLE_VALUE',
  TRAILING_BYTES: 'TRAILING_BYTES',
  // decode stage, WIRE_FORMAT=confluent: the framing, the schema id, or the writer schema is wrong for this record
  NOT_REGISTRY_FRAMED: 'NOT_REGISTRY_FRAMED',
  UNKNOWN_SCHEMA_ID: 'UNKNOWN_SCHEMA_ID',
  INCOMPATIBLE_SCHEMA: 'INCOMPATIBLE_SCHEMA',
  // validate stage: the record decoded but cannot be scored
  MISSING_FIELD: 'MISSING_FIELD',
  NOT_A_NUMBER: 'NOT_A_NUMBER',
  NOT_FINITE: 'NOT_FINITE',
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  // validate stage, JSON inputs (HTTP): a field the input schema does not have, or a value of the wrong JSON type
  UNKNOWN_FIELD: 'UNKNOWN_FIELD',
  WRONG_TYPE: 'WRONG_TYPE',
  // infer stage
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  INFERENCE_TIMEOUT: 'INFERENCE_TIMEOUT',
  BAD_MODEL_OUTPUT: 'BAD_MODEL_OUTPUT',
  // encode stage
  ENCODE_FAILED: 'ENCODE_FAILED',
  OUTCOME_TOO_LARGE: 'OUTCOME_TOO_LARGE',
  // startup and operation (never dead letters)
  CONFIG_INVALID: 'CONFIG_INVALID',
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  SCHEMA_INVALID: 'SCHEMA_INVALID',
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  MODEL_UNAVAILABLE: 'MODEL_UNAVAILABLE',
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  BROKER_UNAVAILABLE: 'BROKER_UNAVAILABLE',
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  // runtime, fatal: the process stops (FATAL_CODES; src/kafka/errors.ts classifies Kafka errors, src/registry/client.ts
  // the Schema Registry's 401 and 403)
  AUTHORIZATION_FAILED: 'AUTHORIZATION_FAILED',
  AUTHENTICATION_FAILED: 'AUTHENTICATION_FAILED',
  KAFKA_CONFIG_REJECTED: 'KAFKA_CONFIG_REJECTED',
  // runtime, retried
  PRODUCE_FAILED: 'PRODUCE_FAILED',
  COMMIT_FAILED: 'COMMIT_FAILED',
  PRODUCER_FENCED: 'PRODUCER_FENCED',
  SHUTDOWN_TIMEOUT: 'SHUTDOWN_TIMEOUT',
  // HTTP inference: answered to the caller, never dead letters
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  OVERLOADED: 'OVERLOADED',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  REQUEST_CANCELLED: 'REQUEST_CANCELLED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The pipeline stage a dead letter failed in; written to the `streamserve.error.stage` header. */
export const Stages = ['decode', 'validate', 'infer', 'encode'] as const;
export type Stage = (typeof Stages)[number];

export interface StreamserveErrorOptions {
  retryable?: boolean;
  cause?: unknown;
}

export interface RecordErrorOptions extends StreamserveErrorOptions {
  /** The Schema Registry id the record was framed with (WIRE_FORMAT=confluent), for its dead letter's header. */
  schemaId?: number;
}

export class StreamserveError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: StreamserveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamserveError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** A failure that belongs to one record: it becomes that record's dead letter, never an exception upstream. */
export class RecordError extends StreamserveError {
  readonly stage: Stage;
  readonly schemaId: number | undefined;

  constructor(stage: Stage, code: ErrorCode, message: string, options: RecordErrorOptions = {}) {
    super(code, message, options);
    this.name = 'RecordError';
    this.stage = stage;
    this.schemaId = options.schemaId;
  }
}

export function isStreamserveError(err: unknown): err is StreamserveError {
  return err instanceof StreamserveError;
}

/**
 * Codes of fatal errors: no retry can fix them, an operator must (an ACL, credentials, a deleted topic, a setting the
 * broker refuses). Whichever part meets one (a Kafka client, src/kafka/errors.ts; the Schema Registry client,
 * src/registry/client.ts) reports it once and the process stops, committing only what was written.
 */
export const FATAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCodes.AUTHORIZATION_FAILED,
  ErrorCodes.AUTHENTICATION_FAILED,
  ErrorCodes.TOPIC_NOT_FOUND,
  ErrorCodes.KAFKA_CONFIG_REJECTED,
]);

/** True for an error of a fatal code: retrying it is pointless. */
export function isFatal(err: unknown): err is StreamserveError {
  return isStreamserveError(err) && FATAL_CODES.has(err.code);
}

/** Message of any thrown value, for logs and headers. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A bad command-line argument or setting combination (exit code 2), named in `message`. */
export function invalidArguments(message: string): StreamserveError {
  return new StreamserveError(ErrorCodes.CONFIG_INVALID, `invalid arguments: ${message}`);
}
