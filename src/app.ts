import type { Logger } from 'pino';
import type { Config } from './config/settings.js';
import { redactedConfig, requireSettings } from './config/load.js';
import { loadAvroSchema, recordFieldNames } from './codec/schema.js';
import { rawAvroDecoder, type InputDecoder } from './codec/inputDecoder.js';
import { avroPredictionEncoder } from './codec/predictionEncoder.js';
import type { Model } from './model/model.js';
import type { Signature } from './model/signature.js';
import type { LoadModelOptions } from './model/tfjsModel.js';
import { loadWorkerModel } from './model/workerModel.js';
import { Pipeline } from './pipeline/pipeline.js';
import { fanOut } from './pipeline/observer.js';
import { createKafka } from './kafka/client.js';
import { KafkaSink } from './kafka/sink.js';
import { KafkaTransactionalSink } from './kafka/transactionalSink.js';
import { DEFAULT_MAX_MESSAGE_BYTES, maxMessageBytes, missingTopics } from './kafka/topics.js';
import { KafkaSource, type PartitionStatus } from './kafka/source.js';
import { AdminServer, type AdminSource, type Readiness } from './admin/server.js';
import { Metrics } from './admin/metrics.js';
import { Stats, type StatsSnapshot } from './admin/stats.js';
import { ErrorCodes, StreamserveError, messageOf } from './errors.js';
import { closeWithin } from './closeWithin.js';
import type { ReplayStatus } from './replay/progress.js';

export const AppStates = ['starting', 'running', 'draining', 'stopped', 'failed'] as const;
export type AppState = (typeof AppStates)[number];

/** What GET /status returns. */
export interface AppStatus {
  state: AppState;
  startedAt: string;
  uptimeSeconds: number;
  ready: Readiness;
  model: { name: string; version: string; dir: string } | null;
  backend: string | null;
  guarantee: Config['guarantee'];
  topics: { input: string; output: string; deadLetter: string };
  group: string;
  batching: { maxBatchSize: number; maxBatchDelayMs: number };
  inflight: number;
  maxInflightRecords: number;
  paused: boolean;
  assignments: PartitionStatus[];
  counts: StatsSnapshot;
  /** Only under `replay`: progress through the range. */
  replay?: ReplayStatus;
}

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** Called once when the app fails on its own (consumer crash) and should be stopped with a non-zero exit. */
  onFatal?: (err: Error) => void;
  /**
   * Loads the model; the TensorFlow.js loader by default. Tests hand in wrappers (a model that fails on marked
   * rows, a slow model) to exercise the real pipeline and broker around them.
   */
  loadModel?: (options: LoadModelOptions) => Promise<Model>;
  /** `replay` (src/replay/job.ts) runs this same composition over a bounded range; `run` passes nothing. */
  replay?: ReplayHooks;
}

/** What a replay changes in the composition: bounds on the input, a stamp on the outputs, progress on /status. */
export interface ReplayHooks {
  /** Exclusive end offset per input partition: records at or past it are never scored. */
  endOffsets: ReadonlyMap<number, string>;
  /** Committed with every input offset, so a re-run finds the replay's plan (src/replay/planStore.ts). */
  offsetMetadata: (topic: string, partition: number) => string | null;
  /** Headers on every outcome; keyless inputs also get a derived prediction key (see OutcomeTarget). */
  extraHeaders: Record<string, string>;
  status: () => ReplayStatus;
}

/**
 * The composition root: the only place that knows every concrete part. Start order is outside-in for
 * observability (admin first, so /healthz answers while the model loads), and stop order is input-first.
 */
export class App implements AdminSource {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #onFatal: (err: Error) => void;
  readonly #loadModel: (options: LoadModelOptions) => Promise<Model>;
  readonly #replay: ReplayHooks | undefined;
  readonly #stats = new Stats();
  readonly #metrics: Metrics;
  #state: AppState = 'starting';
  #startedAt = Date.now();
  #adminPort: number | null = null;
  #admin: AdminServer | null = null;
  #model: Model | null = null;
  #signature: Signature | null = null;
  #sink: KafkaSink | null = null;
  #txSink: KafkaTransactionalSink | null = null;
  #closeClaims: () => Promise<void> = () => Promise.resolve();
  #source: KafkaSource | null = null;
  #pipeline: Pipeline | null = null;
  #stopping: Promise<number> | null = null;

  constructor(options: AppOptions) {
    this.#config = options.config;
    this.#log = options.logger;
    this.#onFatal = options.onFatal ?? (() => {});
    this.#replay = options.replay;
    this.#loadModel =
      options.loadModel ??
      (this.#config.inferenceThread === 'worker'
        ? (o) => loadWorkerModel({ ...o, logLevel: this.#config.logLevel })
        : // Imported only here: TensorFlow.js costs ~100 MB of heap, which the worker thread pays instead.
          async (o) => (await import('./model/tfjsModel.js')).loadModel(o));
    this.#metrics = new Metrics(() => this.#source?.status() ?? [], () => this.readiness().ready);
  }

  get registry() {
    return this.#metrics.registry;
  }

  get state(): AppState {
    return this.#state;
  }

  /** The admin server's bound port (useful with adminPort 0). */
  get adminPort(): number | null {
    return this.#adminPort;
  }

  async start(): Promise<void> {
    const config = this.#config;
    requireSettings(config, ['brokers'], 'run');
    this.#log.info({ config: redactedConfig(config) }, 'starting streamserve');

    this.#admin = new AdminServer({ host: config.adminHost, port: config.adminPort, source: this, logger: this.#log });
    this.#adminPort = await this.#admin.start();

    const [inputType, outputType] = await Promise.all([loadAvroSchema(config.inputSchema), loadAvroSchema(config.outputSchema)]);
    this.#model = await this.#loadModel({
      dir: config.modelDir,
      backend: config.backend,
      logger: this.#log.child({ component: 'model' }),
      // The first full batch must not pay for kernel set-up: warm up at the sizes the stream will use.
      warmupBatchSizes: [1, config.maxBatchSize],
    });
    const signature = (this.#signature = this.#model.signature);
    checkInputSchema(signature, recordFieldNames(inputType), config.inputSchema);
    const encoder = avroPredictionEncoder(outputType, signature);
    const decoder = this.#decoder(inputType);
    this.#metrics.modelLoaded(signature.name, signature.version, this.#model.backend);

    const kafka = createKafka({ ...config, brokers: config.brokers! }, this.#log);
    await this.#checkTopics(kafka);
    const limits = await this.#messageLimits(kafka);
    const exactlyOnce = config.guarantee === 'exactly-once';
    if (exactlyOnce) {
      this.#txSink = new KafkaTransactionalSink({
        kafka,
        groupId: config.groupId,
        transactionalIdPrefix: config.transactionalIdPrefix ?? config.groupId,
        transactionTimeoutMs: 60_000,
        logger: this.#log,
        ...(this.#replay ? { offsetMetadata: this.#replay.offsetMetadata } : {}),
      });
    } else {
      this.#sink = new KafkaSink(kafka, this.#log);
      try {
        await this.#sink.start();
      } catch (cause) {
        throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `cannot connect to ${config.brokers!.join(',')}: ${messageOf(cause)}`, { cause });
      }
    }

    const pipeline = (this.#pipeline = new Pipeline({
      model: this.#model,
      decoder,
      encoder,
      ...(this.#txSink ? { transactionalSink: this.#txSink } : { sink: this.#sink! }),
      target: {
        outputTopic: config.outputTopic,
        deadLetterTopic: config.dlqTopic,
        signature,
        backend: this.#model.backend,
        maxMessageBytes: limits,
        ...(this.#replay ? { extraHeaders: this.#replay.extraHeaders, deriveNullKeys: true } : {}),
      },
      maxBatchSize: config.maxBatchSize,
      maxBatchDelayMs: config.maxBatchDelayMs,
      maxInflightRecords: config.maxInflightRecords,
      logger: this.#log.child({ component: 'pipeline' }),
      observer: fanOut(this.#metrics, this.#stats),
      onBackpressure: (paused) => this.#source?.setPaused(paused),
      ...(exactlyOnce ? {} : { onAcknowledged: () => this.#source?.requestCommit() }),
      onSinkHealth: (healthy) => {
        this.#log[healthy ? 'info' : 'warn']({ healthy }, healthy ? 'output writable again' : 'output not writable');
      },
    }));

    this.#source = new KafkaSource({
      kafka,
      pipeline,
      topic: config.inputTopic,
      groupId: config.groupId,
      fromBeginning: config.startFrom === 'earliest',
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      maxBytesPerPartition: config.maxBytesPerPartition,
      fetchMaxWaitMs: config.fetchMaxWaitMs,
      fetchMinBytes: config.fetchMinBytes,
      commitIntervalMs: config.commitIntervalMs,
      logger: this.#log,
      onFatal: (err) => this.#fail(err),
      ...(this.#txSink ? this.#partitionClaims(kafka, this.#txSink) : {}),
      ...(this.#replay ? { endOffsets: this.#replay.endOffsets, commitMetadata: this.#replay.offsetMetadata } : {}),
    });
    await this.#source.start();
    this.#state = 'running';
    this.#log.info({ input: config.inputTopic, output: config.outputTopic, dlq: config.dlqTopic, group: config.groupId }, 'streamserve running');
  }

  /** Fails startup, naming them, when the input, output or dead-letter topic is missing (auto-creation would hide typos). */
  async #checkTopics(kafka: ReturnType<typeof createKafka>): Promise<void> {
    const { inputTopic, outputTopic, dlqTopic, brokers } = this.#config;
    let missing: string[];
    try {
      missing = await missingTopics(kafka, [inputTopic, outputTopic, dlqTopic]);
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, `cannot reach ${brokers!.join(',')}: ${messageOf(cause)}`, { cause });
    }
    if (missing.length > 0) {
      throw new StreamserveError(
        ErrorCodes.TOPIC_NOT_FOUND,
        `topic(s) ${missing.join(', ')} do not exist; create them with \`streamserve topics --partitions N\``,
      );
    }
  }

  /** The output and dead-letter topics' max.message.bytes (Kafka's default, with a warning, if unreadable). */
  async #messageLimits(kafka: ReturnType<typeof createKafka>): Promise<{ output: number; deadLetter: number }> {
    const { outputTopic, dlqTopic } = this.#config;
    try {
      const limits = await maxMessageBytes(kafka, [outputTopic, dlqTopic]);
      return { output: limits.get(outputTopic) ?? DEFAULT_MAX_MESSAGE_BYTES, deadLetter: limits.get(dlqTopic) ?? DEFAULT_MAX_MESSAGE_BYTES };
    } catch (err) {
      this.#log.warn({ err, assumed: DEFAULT_MAX_MESSAGE_BYTES }, "cannot read the topics' max.message.bytes; assuming Kafka's default");
      return { output: DEFAULT_MAX_MESSAGE_BYTES, deadLetter: DEFAULT_MAX_MESSAGE_BYTES };
    }
  }

  /** Exactly-once: fence earlier owners of a partition, then read the offset they left committed. */
  #partitionClaims(kafka: ReturnType<typeof createKafka>, txSink: KafkaTransactionalSink) {
    const admin = kafka.admin();
    this.#closeClaims = () => (connected ? admin.disconnect() : Promise.resolve());
    let connected: Promise<void> | null = null;
    return {
      claimPartition: async (topic: string, partition: number): Promise<string | null> => {
        await txSink.fence(topic, partition);
        connected ??= admin.connect();
        await connected;
        const [offsets] = await admin.fetchOffsets({ groupId: this.#config.groupId, topics: [topic] });
        const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset;
        this.#log.debug({ topic, partition, committed }, 'claimed partition');
        return committed === undefined || committed === '-1' ? null : committed;
      },
      releasePartition: (topic: string, partition: number) => void txSink.release(topic, partition),
    };
  }

  #decoder(inputType: Parameters<typeof rawAvroDecoder>[0]): InputDecoder {
    if (this.#config.wireFormat === 'raw') return rawAvroDecoder(inputType);
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `wireFormat ${this.#config.wireFormat} is not supported yet`);
  }

  #fail(err: Error): void {
    if (this.#state === 'failed') return;
    this.#log.error({ err }, 'streamserve failed');
    this.#state = 'failed';
    this.#onFatal(err);
  }

  /**
   * Graceful stop, input first: readiness 503, stop fetching, drain batcher and in-flight work, commit,
   * leave the group, close producer, model and admin server — all under `shutdownTimeoutMs`.
   * Resolves to the exit code: 0 when everything in flight was written and committed in time. Idempotent.
   */
  stop(): Promise<number> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<number> {
    const failed = this.#state === 'failed';
    this.#state = 'draining';
    const started = Date.now();
    this.#log.info({ inflight: this.#pipeline?.inflight ?? 0, timeoutMs: this.#config.shutdownTimeoutMs }, 'stopping');
    let clean = !failed;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#config.shutdownTimeoutMs);
    });
    const drain = (async () => {
      this.#source?.stopFetching();
      await this.#pipeline?.drain();
      // Exactly-once commits offsets inside its transactions; the consumer must never commit on its own.
      if (this.#config.guarantee === 'at-least-once') await this.#source?.flushCommits();
      return 'drained' as const;
    })();
    const outcome = await Promise.race([drain, deadline]).catch((err: unknown) => {
      this.#log.error({ err }, 'drain failed');
      return 'error' as const;
    });
    if (outcome !== 'drained') {
      clean = false;
      this.#pipeline?.abort();
      if (outcome === 'timeout') {
        this.#log.error(
          { code: ErrorCodes.SHUTDOWN_TIMEOUT, inflight: this.#pipeline?.inflight },
          'shutdown deadline passed; unacknowledged records stay uncommitted and will be re-read',
        );
      }
    }
    // Kafka clients first (leave the group, end the producers), then the model worker and the admin server. Each
    // phase is bounded: a client that does not close in time is named and left behind, and the rest still closes.
    const left = Math.max(2000, this.#config.shutdownTimeoutMs - (Date.now() - started));
    const kafkaClosed = await closeWithin(
      { consumer: this.#source?.close(), producer: this.#sink?.close(), 'transactional producers': this.#txSink?.close(), 'claims admin': this.#closeClaims() },
      left,
    );
    const restClosed = await closeWithin({ model: this.#model?.close(), 'admin server': this.#admin?.close() }, CLOSE_GRACE_MS);
    const pending = [...kafkaClosed, ...restClosed];
    // Everything acknowledged is committed by now, so a client left behind costs nothing but a late group rebalance:
    // the exit code still says whether everything in flight was committed.
    if (pending.length > 0) {
      this.#log.warn({ code: ErrorCodes.SHUTDOWN_TIMEOUT, pending }, `${pending.join(', ')} did not close in time; left behind`);
    }
    clearTimeout(timer);
    this.#state = failed ? 'failed' : 'stopped';
    this.#log.info({ ms: Date.now() - started, clean, ...this.#stats.snapshot() }, 'stopped');
    return clean ? 0 : 1;
  }

  readiness(): Readiness {
    const checks = {
      running: this.#state === 'running',
      modelWarm: this.#model !== null,
      groupJoined: this.#source?.joined ?? false,
      inputFetching: this.#source?.fetching ?? false,
      producerConnected: (this.#txSink ?? this.#sink)?.connected ?? false,
      outputWritable: this.#pipeline?.sinkHealthy ?? false,
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  status(): AppStatus {
    const sig = this.#signature;
    return {
      state: this.#state,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      ready: this.readiness(),
      model: sig ? { name: sig.name, version: sig.version, dir: this.#config.modelDir } : null,
      backend: this.#model?.backend ?? null,
      guarantee: this.#config.guarantee,
      topics: { input: this.#config.inputTopic, output: this.#config.outputTopic, deadLetter: this.#config.dlqTopic },
      group: this.#config.groupId,
      batching: { maxBatchSize: this.#config.maxBatchSize, maxBatchDelayMs: this.#config.maxBatchDelayMs },
      inflight: this.#pipeline?.inflight ?? 0,
      maxInflightRecords: this.#config.maxInflightRecords,
      paused: this.#source?.paused ?? false,
      assignments: this.#source?.status() ?? [],
      counts: this.#stats.snapshot(),
      ...(this.#replay ? { replay: this.#replay.status() } : {}),
    };
  }
}

/** How long the model worker and admin server get to close once the Kafka clients have. */
const CLOSE_GRACE_MS = 2000;

/** Every field the signature reads must exist in the input schema, or no record could ever be scored. */
function checkInputSchema(signature: Signature, fields: string[], path: string): void {
  const have = new Set(fields);
  const needed = [signature.idField, signature.eventTimeField, ...signature.inputs.map((c) => c.field)];
  const missing = needed.filter((f) => !have.has(f));
  if (missing.length > 0) {
    throw new StreamserveError(ErrorCodes.SCHEMA_INVALID, `input schema ${path} lacks field(s) the model signature reads: ${missing.join(', ')}`);
  }
}
