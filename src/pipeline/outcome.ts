import type { Signature } from '../model/signature.js';
import type { RecordError } from '../errors.js';
import { Header } from './headers.js';
import type { Headers, InputRecord, OutboundMessage } from './record.js';
import { fitsAlone } from './size.js';

/** Where outcomes go and what they are stamped with; fixed for the life of a pipeline. */
export interface OutcomeTarget {
  outputTopic: string;
  deadLetterTopic: string;
  signature: Signature;
  backend: string;
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
    [Header.backend]: target.backend,
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
