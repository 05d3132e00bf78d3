import { ErrorCodes, FATAL_CODES, StreamserveError, isFatal, isStreamserveError, messageOf, type ErrorCode } from '../errors.js';

/**
 * The one place an error from the Kafka client is judged. Every caller in src/kafka/ turns what kafkajs rejected
 * with into a StreamserveError here, and everything upstream branches on that error's code:
 *
 * - **fatal**: no retry can fix it, an operator must (an ACL, credentials, a deleted topic, a setting the broker
 *   refuses). A named code (`AUTHORIZATION_FAILED`, `AUTHENTICATION_FAILED`, `TOPIC_NOT_FOUND`,
 *   `KAFKA_CONFIG_REJECTED`), `retryable` false. The process stops, committing only what was written.
 * - **fencing**: a newer producer epoch owns the transactional id (`PRODUCER_FENCED`): that partition's in-flight
 *   work is dropped, its new owner redoes it.
 * - **retryable**: everything else — the network, a leader or coordinator that moved, request timeouts, a broker
 *   that is away. The caller's own code, `retryable` true; the call is retried with backoff.
 *
 * An error unknown to the lists below is retryable: retrying something harmless forever shows on /readyz, while
 * stopping on it would take the service down for a blip.
 */

export const KafkaErrorKinds = ['retryable', 'fencing', 'fatal'] as const;
export type KafkaErrorKind = (typeof KafkaErrorKinds)[number];

/** Protocol error types (kafkajs `type`) refusing access to a resource, with the resource's kind. */
const AUTHORIZATION = {
  TOPIC_AUTHORIZATION_FAILED: 'topic',
  GROUP_AUTHORIZATION_FAILED: 'group',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'transactional id',
  CLUSTER_AUTHORIZATION_FAILED: 'cluster',
  DELEGATION_TOKEN_AUTHORIZATION_FAILED: 'delegation token',
} as const;

const AUTHENTICATION = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);
/** kafkajs error names of a failed SASL handshake or authentication (they carry no protocol type). */
const AUTHENTICATION_NAMES = new Set(['KafkaJSSASLAuthenticationError']);

/** The broker refuses a setting of ours: as wrong on the next attempt as on this one. */
const CONFIG_REJECTED = new Set([
  'INVALID_CONFIG',
  'INVALID_TRANSACTION_TIMEOUT',
  'INVALID_REQUIRED_ACKS',
  'INVALID_SESSION_TIMEOUT',
  'INVALID_GROUP_ID',
  'INVALID_TOPIC_EXCEPTION',
  'UNSUPPORTED_COMPRESSION_TYPE',
]);

/**
 * A newer producer with our transactional id exists. kafkajs 2.2.4 knows no PRODUCER_FENCED (protocol code 90): it
 * reports it as an unknown code; brokers answer kafkajs' old request versions with INVALID_PRODUCER_EPOCH instead.
 */
const FENCING = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']);
const PRODUCER_FENCED_CODE = 90;

/**
 * The topics, group and transactional id a client call used, so that a refusal names its resource, and what the
 * call did to the topics (`write` a produce or a transaction, `read` a fetch, `describe` a metadata request).
 */
export interface KafkaCall {
  operation: 'write' | 'read' | 'describe';
  topics?: readonly string[];
  group?: string;
  transactionalId?: string;
}

export interface KafkaErrorClass {
  kind: KafkaErrorKind;
  /** The protocol error type (or kafkajs error name) that decided it; '' for a retryable error with none. */
  type: string;
  /**
   * The topic the broker's refusal was about, when the response said (patches/kafkajs+2.2.4.patch: produce and
   * AddPartitionsToTxn errors carry their topic, so a request to several topics names the one refused).
   */
  topic?: string;
}

/**
 * Classifies any error a kafkajs call rejected with, walking its chain of causes (`cause`, `originalError`, the
 * `errors` of an aggregate): the first fatal type anywhere decides, then fencing, else retryable. An error already
 * made by `kafkaFailure` keeps its class.
 */
export function classifyKafkaError(err: unknown): KafkaErrorClass {
  let fencing: string | null = null;
  for (const e of chain(err)) {
    if (isStreamserveError(e)) {
      if (FATAL_CODES.has(e.code)) return { kind: 'fatal', type: e.code };
      if (e.code === ErrorCodes.PRODUCER_FENCED) fencing ??= e.code;
      continue;
    }
    const type = typeOf(e);
    if (type === null) continue;
    if (type in AUTHORIZATION || AUTHENTICATION.has(type) || AUTHENTICATION_NAMES.has(type) || CONFIG_REJECTED.has(type) || type === 'UNKNOWN_TOPIC_OR_PARTITION') {
      const { topic } = e as { topic?: unknown };
      return typeof topic === 'string' ? { kind: 'fatal', type, topic } : { kind: 'fatal', type };
    }
    if (FENCING.has(type)) fencing ??= type;
  }
  return fencing !== null ? { kind: 'fencing', type: fencing } : { kind: 'retryable', type: '' };
}

// The fatal codes are shared with the Schema Registry client (a refusal there stops the process the same way).
export { FATAL_CODES, isFatal };

/**
 * The StreamserveError for an error a Kafka call rejected with: a fatal code naming the resource and operation, or
 * PRODUCER_FENCED, or else `otherwise` (the caller's code for a failure worth retrying, made retryable).
 */
export function kafkaFailure(err: unknown, call: KafkaCall, otherwise: { code: ErrorCode; message: string }): StreamserveError {
  if (isStreamserveError(err) && (FATAL_CODES.has(err.code) || err.code === ErrorCodes.PRODUCER_FENCED)) return err;
  const { kind, type, topic } = classifyKafkaError(err);
  if (kind === 'fencing') {
    return new StreamserveError(ErrorCodes.PRODUCER_FENCED, `a newer producer owns transactional id ${quote(call.transactionalId)} (${type})`, { cause: err });
  }
  if (kind === 'retryable') {
    return new StreamserveError(otherwise.code, `${otherwise.message}: ${messageOf(err)}`, { retryable: true, cause: err });
  }
  const about = topic === undefined ? call : { ...call, topics: [topic] };
  if (type in AUTHORIZATION) return authorizationFailed(AUTHORIZATION[type as keyof typeof AUTHORIZATION], type, about, err);
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    return new StreamserveError(ErrorCodes.TOPIC_NOT_FOUND, `topic ${names(about.topics)} does not exist (any more): cannot ${call.operation} it (${type})`, { cause: err });
  }
  if (CONFIG_REJECTED.has(type)) {
    return new StreamserveError(ErrorCodes.KAFKA_CONFIG_REJECTED, `the broker refused a setting of ours (${type}): ${messageOf(err)}`, { cause: err });
  }
  return new StreamserveError(ErrorCodes.AUTHENTICATION_FAILED, `the broker refused our credentials (${type}): ${messageOf(err)}`, { cause: err });
}

/** An authorization refusal: the resource and the operation the principal lacks, in the message and as fields. */
export class AuthorizationError extends StreamserveError {
  readonly resource: { type: string; name: string };
  readonly operation: string;

  constructor(resource: { type: string; name: string }, operation: string, message: string, cause: unknown) {
    super(ErrorCodes.AUTHORIZATION_FAILED, message, { cause });
    this.name = 'AuthorizationError';
    this.resource = resource;
    this.operation = operation;
  }
}

function authorizationFailed(kind: (typeof AUTHORIZATION)[keyof typeof AUTHORIZATION], type: string, call: KafkaCall, cause: unknown): AuthorizationError {
  // What Kafka requires of each resource for the calls streamserve makes: WRITE on a transactional id (every
  // transactional request), READ on a group (join, heartbeat, offset commits), the call's own operation on a topic.
  const [name, operation] =
    kind === 'topic'
      ? [names(call.topics), call.operation]
      : kind === 'group'
        ? [quote(call.group), 'read']
        : kind === 'transactional id'
          ? [quote(call.transactionalId), 'write']
          : kind === 'cluster'
            ? ['kafka-cluster', call.transactionalId !== undefined ? 'write (transactions)' : call.operation === 'write' ? 'idempotent write' : call.operation]
            : ['(delegation token)', 'describe'];
  return new AuthorizationError(
    { type: kind, name },
    operation,
    `not authorized to ${operation} ${kind} ${name} (${type}): grant the principal ${operation.toUpperCase().split(' ')[0]} on it`,
    cause,
  );
}

/** The error and its causes, depth first, each once. */
function* chain(err: unknown, seen = new Set<unknown>()): Generator<unknown> {
  if (err === null || typeof err !== 'object' || seen.has(err)) return;
  seen.add(err);
  yield err;
  const e = err as { cause?: unknown; originalError?: unknown; errors?: unknown };
  yield* chain(e.cause, seen);
  yield* chain(e.originalError, seen);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, seen);
}

/** kafkajs' protocol error type, PRODUCER_FENCED for the code kafkajs does not know, or the error's name. */
function typeOf(e: unknown): string | null {
  const { type, name, message } = e as { type?: unknown; name?: unknown; message?: unknown };
  if (type === 'KAFKAJS_UNKNOWN_ERROR_CODE' && typeof message === 'string' && message === `Unknown error code ${PRODUCER_FENCED_CODE}`) return 'PRODUCER_FENCED';
  if (typeof type === 'string') return type;
  return typeof name === 'string' ? name : null;
}

function quote(name: string | undefined): string {
  return name === undefined ? '(unknown)' : `"${name}"`;
}

function names(topics: readonly string[] | undefined): string {
  return topics === undefined || topics.length === 0 ? '(unknown)' : topics.map((t) => `"${t}"`).join(', ');
}
