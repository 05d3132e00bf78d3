import type { Logger } from 'pino';
import type { Config } from './config/settings.js';
import type { InputDecoder } from './codec/inputDecoder.js';
import type { RuntimeLoader } from './model/model.js';
import type { KafkaClient } from './kafka/client.js';
import type { KafkaInputParts } from './kafka/create.js';
import type { InputBounds } from './kafka/bounds.js';
import type { KafkaInput } from './kafka/input.js';
import type { PartitionStatus } from './kafka/lag.js';
import type { Readiness } from './admin/server.js';
import type { StatsSnapshot } from './admin/stats.js';
import type { ReplayStatus } from './replay/progress.js';

/* The App's options, its input's contract and what it reports (src/app.ts is the composition root that uses them). */

/** What the App needs of its input: lifecycle, readiness and status. */
export type AppInput = Pick<KafkaInput, 'start' | 'stopFetching' | 'drain' | 'abort' | 'close' | 'checks' | 'status' | 'inflight' | 'paused'>;

export const AppStates = ['starting', 'running', 'draining', 'stopped', 'failed'] as const;
export type AppState = (typeof AppStates)[number];

/** What GET /status returns. */
export interface AppStatus {
  state: AppState;
  startedAt: string;
  uptimeSeconds: number;
  ready: Readiness;
  model: { name: string; version: string; dir: string } | null;
  /** What scores the rows, e.g. `tfjs-wasm` (ModelRuntime.runtime). */
  runtime: string | null;
  guarantee: Config['guarantee'];
  topics: { input: string; output: string; deadLetter: string };
  group: string;
  batching: { maxBatchSize: number; maxBatchDelayMs: number };
  inflight: number;
  maxInflightRecords: number;
  paused: boolean;
  assignments: PartitionStatus[];
  /** The inference port, when serving HTTP: its bound port, requests in flight. */
  http: { port: number | null; inFlight: number } | null;
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
   * Loads the model; by default the runtime the model directory calls for (src/model/runtimes.ts), in the worker
   * thread or on this one. Tests hand in wrappers (a model that fails on marked rows, a slow model) to exercise the
   * real pipeline and broker around them.
   */
  loadModel?: RuntimeLoader;
  /** Decodes input values instead of the WIRE_FORMAT decoder (a plug-in wire format; see docs/ARCHITECTURE.md). */
  decoder?: InputDecoder;
  /** The Kafka client; made from the config when absent. The benchmark hands in one whose producers it observes. */
  kafka?: KafkaClient;
  /** Builds the input from its parts; the Kafka input by default. Tests of the App itself hand in a stub (no broker). */
  createInput?: (parts: KafkaInputParts) => Promise<AppInput>;
  /** `replay` (src/replay/job.ts) runs this same composition over a bounded range; `run` passes nothing. */
  replay?: ReplayHooks;
  /**
   * Which inputs to serve: Kafka (`run`, `replay`), HTTP (`serve`: no broker at all), or both (`run` with HTTP_PORT).
   * Default: Kafka, and HTTP when HTTP_PORT is set.
   */
  inputs?: { kafka: boolean; http: boolean };
}

/** What a replay changes in the composition: bounds on the input, a stamp on the outputs, progress on /status. */
export interface ReplayHooks {
  /** The bounded-input decorator (src/replay/boundedInput.ts): end offsets, and the plan on every commit. */
  bounds: InputBounds;
  /** Headers on every outcome; keyless inputs also get a derived prediction key (see OutcomeTarget). */
  extraHeaders: Record<string, string>;
  status: () => ReplayStatus;
}
