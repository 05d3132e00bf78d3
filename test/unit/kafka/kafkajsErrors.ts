/**
 * Errors exactly as kafkajs 2.2.4 makes them (its own protocol error table, error classes and retrier), for tests of
 * src/kafka/errors.ts without a broker.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const protocol = require('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error & { type: string; code: number } };
const errors = require('kafkajs/src/errors.js') as Record<string, new (...args: never[]) => Error>;
type Retrier = (fn: (bail: (err: Error) => void, retryCount: number) => Promise<unknown>) => Promise<unknown>;
const createRetry = require('kafkajs/src/retry/index.js') as (options: { retries: number; initialRetryTime: number; maxRetryTime: number }) => Retrier;

/** The error kafkajs throws for a protocol error code in a response; `type` is checked against kafkajs' table. */
export function protocolError(type: string, code: number): Error {
  const err = protocol.createErrorFromCode(code);
  if (err.type !== type && type !== 'KAFKAJS_UNKNOWN_ERROR_CODE') throw new Error(`kafkajs calls code ${code} ${err.type}, not ${type}`);
  return err;
}

type Parse = (data: unknown) => Promise<unknown>;
const produceResponse = require('kafkajs/src/protocol/requests/produce/v3/response.js') as { parse: Parse };
const addPartitionsResponse = require('kafkajs/src/protocol/requests/addPartitionsToTxn/v0/response.js') as { parse: Parse };

/**
 * The error kafkajs' own response parser (patched) throws for a response giving each topic's partition 0 an error
 * code (0 for none): a Produce response, or an AddPartitionsToTxn response, where the broker answers
 * OPERATION_NOT_ATTEMPTED (55) for the partitions it did not refuse.
 */
export async function responseError(api: 'produce' | 'addPartitionsToTxn', codes: ReadonlyArray<[topic: string, errorCode: number]>): Promise<Error> {
  const parsed =
    api === 'produce'
      ? produceResponse.parse({ topics: codes.map(([topicName, errorCode]) => ({ topicName, partitions: [{ partition: 0, errorCode }] })), throttleTime: 0 })
      : addPartitionsResponse.parse({ errors: codes.map(([topic, errorCode]) => ({ topic, partitionErrors: [{ partition: 0, errorCode }] })), throttleTime: 0 });
  return parsed.then(
    () => {
      throw new Error(`kafkajs parsed ${JSON.stringify(codes)} without an error`);
    },
    (err: unknown) => err as Error,
  );
}

/** What a kafkajs call rejects with when every attempt failed with `err`: its retrier's wrapping, as a client sees it. */
export async function afterRetries(err: Error, retries = 1): Promise<Error> {
  const retry = createRetry({ retries, initialRetryTime: 1, maxRetryTime: 2 });
  try {
    await retry(() => Promise.reject(err));
  } catch (wrapped) {
    return wrapped as Error;
  }
  throw new Error('the retrier resolved');
}

/** An instance of a kafkajs error class by name (e.g. KafkaJSConnectionError), constructed as kafkajs does. */
export function kafkajsError(name: string, ...args: unknown[]): Error {
  const Class = errors[name];
  if (Class === undefined) throw new Error(`kafkajs has no ${name}`);
  return new Class(...(args as never[]));
}
