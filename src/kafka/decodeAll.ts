import type { InputDecoder } from '../codec/inputDecoder.js';
import type { InputFields } from '../scorer/outcome.js';
import { ErrorCodes, RecordError, isFatal, messageOf } from '../errors.js';
import type { Logger } from 'pino';
import type { InputRecord } from './records.js';

/**
 * Each record's fields, or the RecordError it failed with (its dead letter). Synchronous unless the decoder needs
 * I/O. A decoder that rejects with anything but a RecordError (a dependency is down) rejects the whole call: the
 * records are not poison, and their batch is fetched again.
 */
export function decodeAll(decoder: InputDecoder, records: readonly InputRecord[]): (InputFields | RecordError)[] | Promise<(InputFields | RecordError)[]> {
  const out = new Array<InputFields | RecordError>(records.length);
  let pending: Promise<void>[] | null = null;
  for (let i = 0; i < records.length; i++) {
    try {
      const decoded = decoder.decode(records[i]!.value);
      if (decoded instanceof Promise) {
        (pending ??= []).push(
          decoded.then(
            (fields) => void (out[i] = fields),
            (err: unknown) => {
              if (!(err instanceof RecordError)) throw err;
              out[i] = err;
            },
          ),
        );
      } else out[i] = decoded;
    } catch (err) {
      out[i] = err instanceof RecordError ? err : new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `cannot read record: ${messageOf(err)}`, { cause: err });
    }
  }
  return pending ? Promise.all(pending).then(() => out) : out;
}

/**
 * The outcome of an asynchronous `decodeAll`, or null when the decoder's dependency is down (not poison): nothing of
 * the batch is taken, the decoder's health has paused the input, and kafkajs fetches the batch again once it is
 * back. A dependency that refuses us (a fatal error, src/errors.ts `isFatal`: the Schema Registry's 401 or 403) is
 * reported through `onFatal` (which stops the process, logging it once), and nothing of the batch is taken either:
 * nothing is committed past what was written. A decoder with no health to pause on rethrows anything else.
 */
export async function decodedOrNot(
  decoder: InputDecoder,
  decoding: Promise<(InputFields | RecordError)[]>,
  records: readonly InputRecord[],
  log: Logger,
  onFatal: (err: Error) => void,
): Promise<(InputFields | RecordError)[] | null> {
  try {
    return await decoding;
  } catch (err) {
    if (isFatal(err)) {
      onFatal(err);
      return null;
    }
    if (!decoder.health) throw err;
    const first = records[0];
    log.warn({ topic: first?.topic, partition: first?.partition, from: first?.offset, err: messageOf(err) }, 'decoding needs a dependency that is unavailable; the batch is read again later');
    return null;
  }
}
