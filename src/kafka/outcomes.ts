import type { Logger } from 'pino';
import type { Signature } from '../model/signature.js';
import type { PredictionEncoder } from '../codec/predictionEncoder.js';
import type { Observer } from '../observer.js';
import type { Outcome } from '../scorer/outcome.js';
import { ErrorCodes, RecordError, messageOf } from '../errors.js';
import { Header } from './headers.js';
import type { Headers, InputRecord, OutboundMessage } from './records.js';
import { fitsAlone } from './size.js';

/** Where outcomes go and what they are stamped with; fixed for the life of a pipeline. */
export interface OutcomeTarget {
  outputTopic: string;
  deadLetterTopic: string;
  signature: Signature;
  /** ModelRuntime.runtime: stamped on every prediction. */
  runtime: string;
  /** Extra headers on every outcome (e.g. the replay marker). */
  extraHeaders?: Record<string, string>;
  /**
   * Predictions of keyless inputs get the key `<topic>-<partition>-<offset>` (replay: deterministic keys, so
   * compaction and dedupe downstream work). Dead letters always keep the input's key, unchanged.
   */
  deriveNullKeys?: boolean;
  /** The output and dead-letter topics' max.message.bytes; outcomes are made to fit. No limit when absent. */
  maxMessageBytes?: { output: number; deadLetter: number };
}

/**
 * Where a prediction came from and what scored it. Kept to what the prediction value does not say already (it
 * carries the model's name and version): every header costs kafkajs about 1.5 µs to encode per record.
 */
function lineage(target: OutcomeTarget, record: InputRecord): Record<string, string> {
  return {
    [Header.sourceTopic]: record.topic,
    [Header.sourcePartition]: String(record.partition),
    [Header.sourceOffset]: record.offset,
    [Header.modelVersion]: target.signature.version,
    [Header.runtime]: target.runtime,
    ...target.extraHeaders,
  };
}

export function predictionMessage(target: OutcomeTarget, record: InputRecord, value: Buffer): OutboundMessage {
  const key = record.key ?? (target.deriveNullKeys ? Buffer.from(`${record.topic}-${record.partition}-${record.offset}`) : null);
  return { topic: target.outputTopic, key, value, headers: lineage(target, record) };
}

/** Whether a prediction fits its topic's max.message.bytes (if not, the input is dead-lettered instead). */
export function predictionFits(target: OutcomeTarget, message: OutboundMessage): boolean {
  const limit = target.maxMessageBytes?.output;
  if (limit === undefined) return true;
  // Fast path for the usual small prediction: the lineage headers take well under this much room.
  if ((message.key?.length ?? 0) + (message.value?.length ?? 0) + LINEAGE_ROOM <= limit) return true;
  return fitsAlone(message, limit);
}

const LINEAGE_ROOM = 16 * 1024;

/**
 * The original key, value, headers and timestamp, unchanged, plus headers naming the failure
 * (after Kafka Connect's `__connect.errors.*`). One too large for the dead-letter topic leaves out, in turn, the
 * input's value, its headers and its key, naming what it left out: the failure is reported whatever the input's size.
 */
export function deadLetterMessage(target: OutcomeTarget, record: InputRecord, error: RecordError): OutboundMessage {
  const ours: Headers = {
    ...lineage(target, record),
    [Header.modelName]: target.signature.name, // a dead letter's value is the input: name the model here
    [Header.errorStage]: error.stage,
    [Header.errorCode]: error.code,
    [Header.errorMessage]: error.message.slice(0, 1000),
    ...(error.schemaId === undefined ? {} : { [Header.errorSchemaId]: String(error.schemaId) }),
  };
  const full: OutboundMessage = {
    topic: target.deadLetterTopic,
    key: record.key,
    value: record.value,
    headers: { ...record.headers, ...ours },
    timestamp: record.timestamp,
  };
  const limit = target.maxMessageBytes?.deadLetter;
  if (limit === undefined || fitsAlone(full, limit)) return full;
  const withoutValue = { ...full, value: null, headers: { ...record.headers, ...ours, [Header.errorDropped]: 'value' } };
  if (fitsAlone(withoutValue, limit)) return withoutValue;
  const withoutHeaders = { ...withoutValue, headers: { ...ours, [Header.errorDropped]: 'value,headers' } };
  if (fitsAlone(withoutHeaders, limit)) return withoutHeaders;
  return { ...withoutHeaders, key: null, headers: { ...ours, [Header.errorDropped]: 'value,headers,key' } };
}

/**
 * One Kafka message per outcome, in order: a prediction encoded with the output's encoder (with lineage headers), or
 * a dead letter. A prediction that cannot be encoded or would not fit its topic becomes the input's dead letter.
 * Counts predictions and dead letters on `observer`.
 */
export function outcomeMessages(
  target: OutcomeTarget,
  encoder: PredictionEncoder,
  records: readonly InputRecord[],
  outcomes: readonly Outcome[],
  context: { now: number; observer: Observer; logger: Logger },
): OutboundMessage[] {
  const { observer, logger, now } = context;
  const messages: OutboundMessage[] = new Array(records.length);
  let predictions = 0;
  const deadLetter = (record: InputRecord, error: RecordError): OutboundMessage => {
    observer.deadLetter(error.stage, error.code);
    logger.debug({ topic: record.topic, partition: record.partition, offset: record.offset, stage: error.stage, code: error.code }, 'dead letter');
    return deadLetterMessage(target, record, error);
  };
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const outcome = outcomes[i]!;
    if (outcome instanceof RecordError) {
      messages[i] = deadLetter(record, outcome);
      continue;
    }
    try {
      const value = encoder.encode({ id: outcome.id, eventTime: outcome.eventTime, scoredAt: now, outputs: outcome.outputs });
      const message = predictionMessage(target, record, value);
      if (!predictionFits(target, message)) {
        const limit = target.maxMessageBytes!.output;
        throw new RecordError('encode', ErrorCodes.OUTCOME_TOO_LARGE, `the prediction (${value.length} bytes) would exceed ${target.outputTopic}'s max.message.bytes (${limit})`);
      }
      messages[i] = message;
      predictions++;
    } catch (err) {
      messages[i] = deadLetter(record, err instanceof RecordError ? err : new RecordError('encode', ErrorCodes.ENCODE_FAILED, messageOf(err)));
    }
  }
  if (predictions > 0) observer.prediction(predictions);
  return messages;
}
