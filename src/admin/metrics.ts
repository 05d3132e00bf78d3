import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Observer, RowSource } from '../observer.js';
import type { PartitionStatus } from '../kafka/lag.js';
import type { ReplayStatus } from '../replay/progress.js';

/** Every metric streamserve exports, declared once. Names are part of the operating contract (README). */
export class Metrics implements Observer {
  readonly registry = new Registry();
  readonly #recordsIn: Counter<'topic' | 'partition'>;
  readonly #predictions: Counter;
  readonly #deadLetters: Counter<'stage' | 'code'>;
  readonly #batchSize: Histogram;
  readonly #inferSeconds: Histogram;
  readonly #latency: Histogram;
  readonly #inflight: Gauge;
  readonly #sinkErrors: Counter<'retryable'>;
  readonly #modelInfo: Gauge<'model' | 'version' | 'runtime'>;
  readonly #pauses: Counter;
  readonly #modelHealthy: Gauge;
  readonly #modelFailures: Counter;
  readonly #callRows: Histogram<'source'>;
  readonly #calls: Counter<'sources'>;
  readonly #callsWaited: Histogram;
  readonly #queueWait: Histogram;

  /**
   * `partitions` (lag, paused partitions), `ready` (what /readyz answers) and `registryReachable` (null when no
   * Schema Registry is used) are read at scrape time.
   */
  constructor(partitions: () => PartitionStatus[], ready: () => boolean, registryReachable: () => boolean | null = () => null) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'streamserve_' });
    this.#recordsIn = new Counter({ name: 'streamserve_records_in_total', help: 'Input records taken in', labelNames: ['topic', 'partition'], registers });
    this.#predictions = new Counter({ name: 'streamserve_predictions_total', help: 'Predictions produced', registers });
    this.#deadLetters = new Counter({ name: 'streamserve_dead_letters_total', help: 'Dead letters produced', labelNames: ['stage', 'code'], registers });
    this.#batchSize = new Histogram({
      name: 'streamserve_batch_size',
      help: 'Rows per model call',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers,
    });
    this.#inferSeconds = new Histogram({
      name: 'streamserve_inference_seconds',
      help: 'Wall time of one model call',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#latency = new Histogram({
      name: 'streamserve_end_to_end_latency_seconds',
      help: 'Outcome acknowledged time minus input record timestamp',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#inflight = new Gauge({ name: 'streamserve_inflight_records', help: 'Records taken in and not yet acknowledged', registers });
    this.#sinkErrors = new Counter({ name: 'streamserve_sink_errors_total', help: 'Failed writes of outcomes (retried)', labelNames: ['retryable'], registers });
    this.#modelInfo = new Gauge({ name: 'streamserve_model_info', help: 'Loaded model and the runtime that scores it', labelNames: ['model', 'version', 'runtime'], registers });
    this.#pauses = new Counter({ name: 'streamserve_backpressure_pauses_total', help: 'Times the input was paused for backpressure', registers });
    this.#modelHealthy = new Gauge({ name: 'streamserve_model_healthy', help: '1 while the model scores rows it is known to score; 0 while it fails them (inputs paused)', registers });
    this.#modelHealthy.set(1);
    this.#modelFailures = new Counter({ name: 'streamserve_model_failures_total', help: 'Times the model stopped scoring rows it is known to score', registers });
    this.#callRows = new Histogram({
      name: 'streamserve_model_call_rows',
      help: 'Rows of one model call from each source (kafka, http), observed for each source with rows in the call',
      labelNames: ['source'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048],
      registers,
    });
    this.#calls = new Counter({
      name: 'streamserve_model_calls_total',
      help: 'Model calls by the sources of their rows (kafka, http, kafka+http)',
      labelNames: ['sources'],
      registers,
    });
    this.#callsWaited = new Histogram({
      name: 'streamserve_http_calls_waited',
      help: 'Model calls that ended while an HTTP row waited for its own (at most 1 expected: the one running when it came)',
      buckets: [0, 1, 2, 3, 5, 10],
      registers,
    });
    this.#queueWait = new Histogram({
      name: 'streamserve_http_queue_wait_seconds',
      help: 'Time from an HTTP row being queued to the start of its model call',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    new Gauge({
      name: 'streamserve_ready',
      help: '1 when ready to serve (/readyz answers 200)',
      registers,
      collect() {
        this.set(ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'streamserve_schema_registry_reachable',
      help: 'WIRE_FORMAT=confluent: 1 while the Schema Registry answers; 0 while it does not (input paused, lookups retried)',
      registers,
      collect() {
        this.reset();
        const reachable = registryReachable();
        if (reachable !== null) this.set(reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'streamserve_consumer_lag',
      help: 'High watermark minus committed offset, per assigned partition',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of partitions()) if (p.lag !== null) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
    });
    new Gauge({
      name: 'streamserve_paused_partitions',
      help: 'Assigned partitions paused by backpressure',
      registers,
      collect() {
        this.set(partitions().filter((p) => p.paused).length);
      },
    });
  }

  modelLoaded(model: string, version: string, runtime: string): void {
    this.#modelInfo.set({ model, version, runtime }, 1);
  }

  recordsIn(topic: string, partition: number, count: number): void {
    this.#recordsIn.inc({ topic, partition: String(partition) }, count);
  }
  prediction(count: number): void {
    this.#predictions.inc(count);
  }
  deadLetter(stage: string, code: string): void {
    this.#deadLetters.inc({ stage, code });
  }
  batch(rows: number, inferSeconds: number): void {
    this.#batchSize.observe(rows);
    this.#inferSeconds.observe(inferSeconds);
  }
  latency(seconds: number): void {
    this.#latency.observe(seconds);
  }
  inflight(records: number): void {
    this.#inflight.set(records);
  }
  sinkError(retryable: boolean): void {
    this.#sinkErrors.inc({ retryable: String(retryable) });
  }
  backpressure(paused: boolean): void {
    if (paused) this.#pauses.inc();
  }
  modelHealth(healthy: boolean): void {
    this.#modelHealthy.set(healthy ? 1 : 0);
    if (!healthy) this.#modelFailures.inc();
  }
  callRows(rows: Readonly<Record<RowSource, number>>): void {
    if (rows.kafka > 0) this.#callRows.observe({ source: 'kafka' }, rows.kafka);
    if (rows.http > 0) this.#callRows.observe({ source: 'http' }, rows.http);
    this.#calls.inc({ sources: rows.kafka > 0 && rows.http > 0 ? 'kafka+http' : rows.http > 0 ? 'http' : 'kafka' });
  }
  httpRowWait(callsWaited: number, seconds: number): void {
    this.#callsWaited.observe(callsWaited);
    this.#queueWait.observe(seconds);
  }
}

/**
 * Replay progress, read from `status` at scrape time; only `replay` registers these. Gauges, not counters: a
 * resumed replay starts with part of its range already done.
 */
export function registerReplayMetrics(registry: Registry, status: () => ReplayStatus): void {
  const registers = [registry];
  new Gauge({
    name: 'streamserve_replay_records',
    help: 'Records in the replay range (offsets spanned)',
    registers,
    collect() {
      this.set(status().total);
    },
  });
  new Gauge({
    name: 'streamserve_replay_done_records',
    help: 'Records of the replay range whose outcome is committed',
    registers,
    collect() {
      this.set(status().done);
    },
  });
  new Gauge({
    name: 'streamserve_replay_rate',
    help: 'Replay records committed per second, recent window',
    registers,
    collect() {
      this.set(status().rate);
    },
  });
  new Gauge({
    name: 'streamserve_replay_eta_seconds',
    help: 'Seconds until the replay completes at the current rate (-1 while unknown)',
    registers,
    collect() {
      this.set(status().eta ?? -1);
    },
  });
  new Gauge({
    name: 'streamserve_replay_remaining_records',
    help: 'Records of the replay range not yet committed, per input partition',
    labelNames: ['partition'],
    registers,
    collect() {
      this.reset();
      for (const p of status().partitions) this.set({ partition: String(p.partition) }, p.total - p.done);
    },
  });
}
