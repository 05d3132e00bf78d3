import type { Logger } from 'pino';
import type { Config } from '../config/settings.js';
import type { InputDecoder } from '../codec/inputDecoder.js';
import type { PredictionEncoder } from '../codec/predictionEncoder.js';
import type { Scorer } from '../scorer/scorer.js';
import type { Observer } from '../observer.js';
import { AtLeastOnceOutput } from './atLeastOnce.js';
import { createKafka, type KafkaClient } from './client.js';
import { ExactlyOnceOutput } from './exactlyOnce.js';
import { GroupOffsets } from './groupOffsets.js';
import type { InputBounds } from './bounds.js';
import { KafkaInput } from './input.js';
import type { KafkaOutput, OutputContext } from './output.js';
import { KafkaSink } from './sink.js';
import { messageLimits, requireTopics } from './topics.js';
import { KafkaTransactionalSink } from './transactionalSink.js';

export interface KafkaInputParts {
  config: Config;
  /** The client to use; one is created from the config when absent (tests and the benchmark hand in their own). */
  kafka?: KafkaClient;
  scorer: Scorer;
  decoder: InputDecoder;
  encoder: PredictionEncoder;
  logger: Logger;
  observer: Observer;
  onFatal: (err: Error) => void;
  /** A bounded input (replay). */
  bounds?: InputBounds;
  /** Headers on every outcome (the replay's id); keyless inputs then also get a derived prediction key. */
  extraHeaders?: Record<string, string>;
}

/**
 * Builds the Kafka input of the configuration: checks the topics exist, reads the outcome topics' size limits, and
 * chooses the output of the delivery guarantee. Talks to the broker (it must be reachable); starts nothing.
 */
export async function createKafkaInput(parts: KafkaInputParts): Promise<KafkaInput> {
  const { config, logger, observer } = parts;
  const kafka = parts.kafka ?? createKafka({ ...config, brokers: config.brokers! }, logger);
  const { inputTopic, outputTopic, dlqTopic } = config;
  await requireTopics(kafka, config.brokers!, [inputTopic, outputTopic, dlqTopic], 'create them with `streamserve topics --partitions N`');
  const limits = await messageLimits(kafka, [outputTopic, dlqTopic], logger);
  const signature = parts.scorer.model.signature;
  return new KafkaInput({
    kafka,
    scorer: parts.scorer,
    decoder: parts.decoder,
    encoder: parts.encoder,
    target: {
      outputTopic,
      deadLetterTopic: dlqTopic,
      signature,
      runtime: parts.scorer.model.runtime,
      maxMessageBytes: { output: limits.get(outputTopic)!, deadLetter: limits.get(dlqTopic)! },
      ...(parts.extraHeaders ? { extraHeaders: parts.extraHeaders, deriveNullKeys: true } : {}),
    },
    consumer: {
      topic: inputTopic,
      groupId: config.groupId,
      fromBeginning: config.startFrom === 'earliest',
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxBytesPerPartition: config.maxBytesPerPartition,
      fetchMaxWaitMs: config.fetchMaxWaitMs,
      fetchMinBytes: config.fetchMinBytes,
    },
    output: (context) => createOutput(config, kafka, context, logger, observer),
    commitIntervalMs: config.commitIntervalMs,
    maxInflightRecords: config.maxInflightRecords,
    interactiveInflightRecords: config.maxInflightRecordsWhileHttp,
    ...(parts.bounds ? { bounds: parts.bounds } : {}),
    logger,
    observer,
    onFatal: parts.onFatal,
  });
}

function createOutput(config: Config, kafka: KafkaClient, context: OutputContext, logger: Logger, observer: Observer): KafkaOutput {
  if (config.guarantee === 'at-least-once') {
    return new AtLeastOnceOutput({ ...context, sink: new KafkaSink(kafka, logger), brokers: config.brokers!, logger: logger.child({ component: 'output' }), observer });
  }
  const offsets = new GroupOffsets(kafka, config.groupId);
  const producers = new KafkaTransactionalSink({
    kafka,
    groupId: config.groupId,
    transactionalIdPrefix: config.transactionalIdPrefix ?? config.groupId,
    transactionTimeoutMs: 60_000,
    logger,
    offsetMetadata: context.commitMetadata,
  });
  return new ExactlyOnceOutput({
    ...context,
    producers,
    offsets,
    logger: logger.child({ component: 'output' }),
    observer,
  });
}
