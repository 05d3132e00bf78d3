/**
 * streamserve's programmatic entry: what the benchmark, embedding programs and tools outside src/ may use. Anything
 * not exported here is internal and may change without notice. The CLI (src/cli/main.ts) is the other entry.
 */

// Composition and configuration
export { App, type AppOptions, type AppStatus } from './app.js';
export { loadConfig } from './config/load.js';
export { settings, type Config } from './config/settings.js';
export { createLogger } from './logger.js';
export { ErrorCodes, RecordError, StreamserveError, messageOf, type ErrorCode } from './errors.js';
export { shippedNodeFlags } from './cli/nodeFlags.js';

// Wire formats
export { loadAvroSchema, type AvroType } from './codec/schema.js';
export { rawAvroDecoder, type InputDecoder } from './codec/inputDecoder.js';
export { avroPredictionEncoder, type PredictionEncoder } from './codec/predictionEncoder.js';
export { frameHeader } from './codec/confluentFrame.js';
export { ConfluentDecoder } from './codec/confluentDecoder.js';
export { RegistryClient, RegistryError } from './registry/client.js';
export { startLocalRegistry, type LocalRegistry } from './registry/localRegistry.js';

// The scorer and the models it runs
export { Scorer, type ScoreBatch } from './scorer/scorer.js';
export { featurize } from './scorer/featurize.js';
export type { InputFields, Outcome, Prediction } from './scorer/outcome.js';
export type { ModelRuntime, RuntimeLoadOptions, RuntimeLoader } from './model/model.js';
import type { BackendName } from './model/backendNames.js';
export type { BackendName };
export { loadRuntime } from './model/runtimes.js';
export { loadWorkerModel } from './model/workerModel.js';
export { loadProcessModel } from './model/processModel.js';
export { loadOffThread } from './model/offThread.js';
export { loadOnnxModel } from './model/onnxRuntime.js';
export { loadSignature, unscaleOutput, type Signature } from './model/signature.js';
export { sampleBoreholeInputs } from './model/borehole.js';
export { parseNpz } from './model/npzFile.js';
export { denseLayers, layerArrays, type DenseLayer } from './model/denseNetwork.js';

// Kafka
export { createKafka, type KafkaClient } from './kafka/client.js';
export { KafkaInput } from './kafka/input.js';
export type { BatchHandler, InputConsumer } from './kafka/inputConsumer.js';
export { AtLeastOnceOutput } from './kafka/atLeastOnce.js';
export { KafkaSink } from './kafka/sink.js';
export { Header } from './kafka/headers.js';
export { predictionMessage, type OutcomeTarget } from './kafka/outcomes.js';
export { toInputRecord, type InputRecord, type OutboundMessage } from './kafka/records.js';
export { readTopic } from './kafka/topicReader.js';
export { startLocalBroker, type LocalBroker } from './kafka/localBroker.js';

/**
 * TensorFlow.js device backends that can run here. Imports TensorFlow.js (~40 MB of RSS) on the calling thread, so
 * only on first use: nothing else this entry exports loads it (streamserve runs its model in a worker thread).
 */
export async function availableBackends(): Promise<BackendName[]> {
  return (await import('./model/backend.js')).availableBackends();
}
