import type { Signature } from '../model/signature.js';
import type { RecordError } from '../errors.js';
import { Header } from './headers.js';
import type { Headers, InputRecord, OutboundMessage } from './record.js';

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

/**
 * The original key, value, headers and timestamp, unchanged, plus headers naming the failure
 * (after Kafka Connect's `__connect.errors.*`).
 */
export function deadLetterMessage(target: OutcomeTarget, record: InputRecord, error: RecordError): OutboundMessage {
  const headers: Headers = {
    ...record.headers,
    ...lineage(target, record),
    [Header.modelName]: target.signature.name, // a dead letter's value is the input: name the model here
    [Header.errorStage]: error.stage,
    [Header.errorCode]: error.code,
    [Header.errorMessage]: error.message.slice(0, 1000),
  };
  return {
    topic: target.deadLetterTopic,
    key: record.key,
    value: record.value,
    headers,
    timestamp: record.timestamp,
  };
}
