import type { Logger } from 'pino';
import type { Config } from './config/settings.js';
import type { AppInput, AppOptions, AppState, AppStatus } from './appOptions.js';
import { redactedConfig, requireSettings } from './config/load.js';
import { checkInputSchema, loadAvroSchema, recordFieldNames } from './codec/schema.js';
import type { InputDecoder } from './codec/inputDecoder.js';
import type { RegistryClient } from './registry/client.js';
import { kafkaWireFormats, usesRegistry } from './codec/wireFormats.js';
import type { ModelRuntime, RuntimeLoader } from './model/model.js';
import { loadRuntime } from './model/runtimes.js';
import { loadOffThread } from './model/offThread.js';
import { Scorer } from './scorer/scorer.js';
import { fanOut } from './observer.js';
import { createKafkaInput } from './kafka/create.js';
import { AdminServer, type AdminSource, type Readiness } from './admin/server.js';
import { Metrics } from './admin/metrics.js';
import { Stats } from './admin/stats.js';
import { ErrorCodes } from './errors.js';
import { closeWithin } from './closeWithin.js';
import type { InferenceServer } from './http/server.js';
import { createInferenceServer } from './http/create.js';

export { AppStates, type AppInput, type AppOptions, type AppState, type AppStatus, type ReplayHooks } from './appOptions.js';

/**
 * The composition root: the only place that knows every concrete part, and the start/stop order. Start order is
 * outside-in for observability (admin first, so /healthz answers while the model loads); stop order is input-first.
 */
export class App implements AdminSource {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #onFatal: (err: Error) => void;
  readonly #loadModel: RuntimeLoader;
  readonly #options: AppOptions;
  readonly #stats = new Stats();
  readonly #metrics: Metrics;
  #state: AppState = 'starting';
  #startedAt = Date.now();
  #adminPort: number | null = null;
  #admin: AdminServer | null = null;
  #model: ModelRuntime | null = null;
  #scorer: Scorer | null = null;
  #input: AppInput | null = null;
  #http: InferenceServer | null = null;
  #httpPort: number | null = null;
  #decoderInUse: InputDecoder | null = null;
  #registry: RegistryClient | null = null;
  #stopping: Promise<number> | null = null;
  /** The error the app failed on by itself, once. */
  #fatal: Error | null = null;

  constructor(options: AppOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#log = options.logger;
    this.#onFatal = options.onFatal ?? (() => {});
    this.#loadModel =
      options.loadModel ??
      (this.#config.inferenceThread === 'worker'
        ? (o) => loadOffThread({ ...o, logLevel: this.#config.logLevel })
        : // loadRuntime imports the runtime's library (TensorFlow.js: ~100 MB of heap) only now, on this thread.
          loadRuntime);
    this.#metrics = new Metrics(
      () => this.#input?.status() ?? [],
      () => this.readiness().ready,
      () => this.#decoderInUse?.health?.healthy ?? null,
    );
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

  /** The inference server's bound port, when it serves HTTP. */
  get httpPort(): number | null {
    return this.#httpPort;
  }

  get #inputs(): { kafka: boolean; http: boolean } {
    return this.#options.inputs ?? { kafka: true, http: this.#config.httpPort !== undefined };
  }

  async start(): Promise<void> {
    const config = this.#config;
    if (this.#inputs.kafka) {
      requireSettings(config, ['brokers'], 'run');
      if (usesRegistry(config)) requireSettings(config, ['schemaRegistryUrl'], 'the confluent wire format');
    }
    this.#log.info({ config: redactedConfig(config) }, 'starting streamserve');

    this.#admin = new AdminServer({ host: config.adminHost, port: config.adminPort, source: this, logger: this.#log });
    this.#adminPort = await this.#admin.start();

    const [inputType, outputType] = await Promise.all([loadAvroSchema(config.inputSchema), loadAvroSchema(config.outputSchema)]);
    const model = (this.#model = await this.#loadModel({
      dir: config.modelDir,
      // BACKEND is the TensorFlow.js device backend; runtimes with one device ignore it.
      device: config.backend,
      logger: this.#log.child({ component: 'model' }),
      // The first full batch must not pay for kernel set-up: warm up at the sizes the stream will use.
      warmupBatchSizes: [1, config.maxBatchSize],
    }));
    const { signature } = model;
    checkInputSchema(signature, recordFieldNames(inputType), config.inputSchema);
    this.#metrics.modelLoaded(signature.name, signature.version, model.runtime);

    const observer = fanOut(this.#metrics, this.#stats);
    this.#scorer = new Scorer({
      model,
      maxBatchSize: config.maxBatchSize,
      maxBatchDelayMs: config.maxBatchDelayMs,
      logger: this.#log.child({ component: 'scorer' }),
      observer,
      inferTimeoutMs: config.inferenceTimeoutMs,
    });
    if (this.#inputs.http) {
      this.#http = createInferenceServer({ config, scorer: this.#scorer, model, inputType, registry: this.#metrics.registry, logger: this.#log });
      this.#httpPort = await this.#http.start();
    }
    if (!this.#inputs.kafka) {
      this.#state = 'running';
      this.#log.info({ http: this.#httpPort }, 'streamserve serving HTTP');
      return;
    }
    const { decoder, encoder, registry } = await kafkaWireFormats({ config, inputType, outputType, signature, logger: this.#log, decoder: this.#options.decoder });
    this.#decoderInUse = decoder;
    this.#registry = registry;
    const replay = this.#options.replay;
    this.#input = await (this.#options.createInput ?? createKafkaInput)({
      config,
      ...(this.#options.kafka ? { kafka: this.#options.kafka } : {}),
      scorer: this.#scorer,
      decoder,
      encoder,
      logger: this.#log,
      observer,
      onFatal: (err) => this.#fail(err),
      ...(replay ? { bounds: replay.bounds, extraHeaders: replay.extraHeaders } : {}),
    });
    await this.#input.start();
    this.#state = 'running';
    this.#log.info({ input: config.inputTopic, output: config.outputTopic, dlq: config.dlqTopic, group: config.groupId }, 'streamserve running');
  }

  /**
   * The app failed by itself (a fatal error, src/errors.ts `isFatal`: Kafka's, src/kafka/errors.ts, or the Schema
   * Registry's 401 or 403): the error is logged here, once, under `err`
   * with its code; readiness stays 503; the owner stops the app (exit 1), which commits only what was written.
   */
  #fail(err: Error): void {
    if (this.#fatal !== null) return;
    this.#fatal = err;
    this.#log.error({ err }, 'streamserve failed');
    if (this.#stopping === null) this.#state = 'failed';
    this.#onFatal(err);
  }

  /** The error the app failed on by itself (already logged), or null. */
  get fatal(): Error | null {
    return this.#fatal;
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
    const failed = this.#state === 'failed' || this.#fatal !== null;
    this.#state = 'draining';
    const started = Date.now();
    this.#log.info({ inflight: this.#input?.inflight ?? 0, timeoutMs: this.#config.shutdownTimeoutMs }, 'stopping');
    let clean = !failed;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#config.shutdownTimeoutMs);
    });
    const drain = (async () => {
      this.#input?.stopFetching();
      if (this.#scorer && !this.#scorer.healthy) {
        // Waiting for a broken model would only spend the deadline: what it holds stays uncommitted, to be read again.
        this.#log.warn({ code: ErrorCodes.MODEL_UNAVAILABLE, inflight: this.#input?.inflight }, 'stopping while the model is unavailable');
        this.#scorer.close();
      }
      // HTTP requests in flight are answered (new ones get 503) while the Kafka input drains.
      await Promise.all([this.#input?.drain(), this.#http?.close()]);
      return 'drained' as const;
    })();
    const outcome = await Promise.race([drain, deadline]).catch((err: unknown) => {
      this.#log.error({ err }, 'drain failed');
      return 'error' as const;
    });
    if (outcome === 'drained' && (this.#input?.inflight ?? 0) > 0) {
      clean = false; // drained, but some records never got an outcome (the model was unavailable): they are read again
    }
    if (outcome !== 'drained') {
      clean = false;
      this.#input?.abort();
      this.#scorer?.close();
      if (outcome === 'timeout') {
        this.#log.error(
          { code: ErrorCodes.SHUTDOWN_TIMEOUT, inflight: this.#input?.inflight },
          'shutdown deadline passed; unacknowledged records stay uncommitted and will be re-read',
        );
      }
    }
    // Kafka clients first (leave the group, end the producers), then the model worker and the admin server. Each
    // phase is bounded: a client that does not close in time is named and left behind, and the rest still closes.
    const left = Math.max(2000, this.#config.shutdownTimeoutMs - (Date.now() - started));
    this.#decoderInUse?.close?.();
    this.#registry?.close();
    const kafkaClosed = await closeWithin(this.#input?.close() ?? {}, left);
    const restClosed = await closeWithin(
      { 'inference server': this.#http?.close(), model: this.#model?.close(), 'admin server': this.#admin?.close() },
      CLOSE_GRACE_MS,
    );
    const pending = [...kafkaClosed, ...restClosed];
    // Everything acknowledged is committed by now, so a client left behind costs nothing but a late group rebalance:
    // the exit code still says whether everything in flight was committed.
    if (pending.length > 0) {
      this.#log.warn({ code: ErrorCodes.SHUTDOWN_TIMEOUT, pending }, `${pending.join(', ')} did not close in time; left behind`);
    }
    clearTimeout(timer);
    this.#state = failed || this.#fatal !== null ? 'failed' : 'stopped';
    this.#log.info({ ms: Date.now() - started, clean, ...this.#stats.snapshot() }, 'stopped');
    return clean && this.#fatal === null ? 0 : 1;
  }

  readiness(): Readiness {
    const checks = {
      running: this.#state === 'running',
      modelWarm: this.#model !== null,
      modelHealthy: this.#scorer?.healthy ?? false,
      ...(this.#inputs.http ? { httpListening: this.#httpPort !== null } : {}),
      ...(this.#inputs.kafka
        ? (this.#input?.checks() ?? { groupJoined: false, inputFetching: false, producerConnected: false, outputWritable: false })
        : {}),
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  }

  status(): AppStatus {
    const sig = this.#model?.signature ?? null;
    return {
      state: this.#state,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      ready: this.readiness(),
      model: sig ? { name: sig.name, version: sig.version, dir: this.#config.modelDir } : null,
      runtime: this.#model?.runtime ?? null,
      guarantee: this.#config.guarantee,
      topics: { input: this.#config.inputTopic, output: this.#config.outputTopic, deadLetter: this.#config.dlqTopic },
      group: this.#config.groupId,
      batching: { maxBatchSize: this.#config.maxBatchSize, maxBatchDelayMs: this.#config.maxBatchDelayMs },
      inflight: this.#input?.inflight ?? 0,
      maxInflightRecords: this.#config.maxInflightRecords,
      paused: this.#input?.paused ?? false,
      assignments: this.#input?.status() ?? [],
      http: this.#inputs.http ? { port: this.#httpPort, inFlight: this.#http?.inFlight ?? 0 } : null,
      counts: this.#stats.snapshot(),
      ...(this.#options.replay ? { replay: this.#options.replay.status() } : {}),
    };
  }
}

/** How long the model worker and admin server get to close once the Kafka clients have. */
const CLOSE_GRACE_MS = 2000;
