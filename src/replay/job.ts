import { join } from 'node:path';
import type { Logger } from 'pino';
import { App, type AppOptions } from '../app.js';
import type { Config } from '../config/settings.js';
import { requireSettings } from '../config/load.js';
import { settings } from '../config/settings.js';
import type { StatsSnapshot } from '../admin/stats.js';
import { registerReplayMetrics } from '../admin/metrics.js';
import { brokerUnavailable, createKafka, type KafkaClient } from '../kafka/client.js';
import { GroupOffsets } from '../kafka/groupOffsets.js';
import { requireTopics } from '../kafka/topics.js';
import { loadSignature } from '../model/signature.js';
import { Header } from '../kafka/headers.js';
import { BoundedInput } from './boundedInput.js';
import { invalidArguments } from '../errors.js';
import { defaultReplayGroup, encodePartitionMetadata, replayFingerprint, type ReplayPlan, type ReplayRange } from './plan.js';
import { awaitStoredPlan, readStoredPlan, resolvePlan, writePlan } from './planStore.js';
import { ReplayProgress, type ReplayStatus } from './progress.js';
import { createProgressDisplay, type DisplayOptions } from './display.js';

/**
 * `replay`: the same App as `run` — decoder, model, pipeline, sinks, source, admin server — pointed at a bounded
 * range of the input topic, in a consumer group of its own, writing to a target topic. This file only adds what a
 * bounded run needs around it: the plan (made once, stored with the group's offsets, reused by every re-run), the
 * stop condition (every partition's committed position at its end), progress, and the summary.
 */

export interface ReplayArgs {
  toTopic: string;
  range: ReplayRange;
  /** --replay-group; derived from the replay's topics, range and model when absent. */
  group?: string;
}

export interface ReplayJobOptions {
  config: Config;
  logger: Logger;
  args: ReplayArgs;
  /** As for App: tests hand in wrapped models. */
  loadModel?: AppOptions['loadModel'];
  display?: DisplayOptions['mode'];
  /** Log display: one progress line per this many ms. */
  progressIntervalMs?: number;
}

export interface PreparedReplay {
  group: string;
  fingerprint: string;
  plan: ReplayPlan;
  /** The group's committed positions (empty for a new replay). */
  committed: Map<number, string>;
  /** False when the plan was just resolved and is not stored yet: a new replay, or any dry run of one. */
  stored: boolean;
  warnings: string[];
  model: { name: string; version: string };
}

export interface ReplayResult {
  outcome: 'complete' | 'interrupted' | 'failed';
  prepared: PreparedReplay;
  status: ReplayStatus;
  /** This run's counts (records taken in, predictions, dead letters); null when nothing was left to do. */
  counts: StatsSnapshot | null;
  /** Start-up (model load, group join) and scoring wall time of this run. */
  startupMs: number;
  runMs: number;
  error?: Error;
}

const TICK_MS = 200;
/** The group's committed offsets are re-read from the broker this often (covers partitions owned by another process). */
const BROKER_POLL_MS = 2000;

export class ReplayJob {
  readonly #o: ReplayJobOptions;
  readonly #log: Logger;
  readonly #kafka: KafkaClient;
  /** The replay group's offsets (and the topic's), once prepare() knows the group. */
  #offsets: GroupOffsets | null = null;
  #app: App | null = null;
  #interrupted = false;
  #wake: () => void = () => {};

  constructor(options: ReplayJobOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'replay' });
    requireSettings(options.config, ['brokers'], 'replay');
    this.#kafka = createKafka({ ...options.config, brokers: options.config.brokers! }, options.logger);
  }

  /** Checks the arguments and topics, and finds the replay's plan: the stored one, or a new one resolved now. Writes nothing. */
  async prepare(): Promise<PreparedReplay> {
    const { config, args } = this.#o;
    checkTargets(config, args);
    const signature = await loadSignature(join(config.modelDir, 'signature.json'));
    const model = { name: signature.name, version: signature.version };
    const fingerprint = replayFingerprint({
      inputTopic: config.inputTopic,
      targetTopic: args.toTopic,
      deadLetterTopic: config.dlqTopic,
      range: args.range,
      model,
    });
    const group = args.group ?? defaultReplayGroup(fingerprint);
    if (group === config.groupId) {
      throw invalidArguments(`--replay-group must differ from the live consumer group (GROUP_ID / --group = ${group})`);
    }

    await requireTopics(this.#kafka, config.brokers!, [config.inputTopic, args.toTopic, config.dlqTopic], `create the target with \`streamserve topics --output-topic ${args.toTopic}\``);
    const offsets = await this.#connectOffsets(group);
    const who = { id: group, fingerprint };
    const stored = await readStoredPlan(offsets, config.inputTopic, who);
    if (stored.kind === 'foreign') {
      throw invalidArguments(`consumer group ${group} cannot be resumed as this replay: ${stored.reason}; choose another --replay-group`);
    }
    if (stored.kind === 'plan') {
      return { group, fingerprint, plan: stored.plan, committed: stored.committed, stored: true, warnings: [], model };
    }
    const { plan, warnings } = await resolvePlan(offsets, who, config.inputTopic, args.range);
    return { group, fingerprint, plan, committed: new Map(), stored: false, warnings, model };
  }

  /**
   * Runs the replay until every partition's committed position reaches its end, or interrupt(). Stores a new plan
   * first. Resolves with the outcome; rejects only when start-up fails.
   */
  async run(prepared: PreparedReplay): Promise<ReplayResult> {
    const started = Date.now();
    const { config, args } = this.#o;
    const txPrefix = config.transactionalIdPrefix ? `${config.transactionalIdPrefix}-${prepared.group}` : prepared.group;
    let { plan, committed } = prepared;
    try {
      if (!prepared.stored) {
        for (const w of prepared.warnings) this.#log.warn(w);
        await writePlan(this.#kafka, prepared.group, `${txPrefix}-plan`, plan);
        // Read back: if another process stored a plan for the same replay at the same moment, both use the one kept.
        ({ plan, committed } = await awaitStoredPlan(await this.#connectOffsets(prepared.group), prepared.group, plan));
        this.#log.info({ group: prepared.group, createdAt: plan.createdAt }, 'replay plan stored');
      }
      prepared = { ...prepared, plan, committed, stored: true };
    } catch (err) {
      await this.#closeOffsets();
      throw err;
    }

    const progress = new ReplayProgress({ plan, committed });
    if (progress.complete || this.#interrupted) {
      await this.#closeOffsets();
      const outcome = progress.complete ? 'complete' : 'interrupted';
      return { outcome, prepared, status: progress.snapshot(), counts: null, startupMs: Date.now() - started, runMs: 0 };
    }

    const metadata = new Map(plan.partitions.map((p) => [p.partition, encodePartitionMetadata(plan, p)]));
    const replayConfig: Config = Object.freeze({
      ...config,
      groupId: prepared.group,
      outputTopic: args.toTopic,
      transactionalIdPrefix: txPrefix,
      startFrom: 'earliest',
    });
    let fatal: Error | null = null;
    const app = new App({
      config: replayConfig,
      logger: this.#o.logger,
      ...(this.#o.loadModel ? { loadModel: this.#o.loadModel } : {}),
      onFatal: (err) => {
        fatal = err;
        this.#wake();
      },
      replay: {
        bounds: new BoundedInput({
          topic: plan.topic,
          endOffsets: new Map(plan.partitions.map((p) => [p.partition, p.end])),
          metadata: (partition) => metadata.get(partition) ?? null,
        }),
        extraHeaders: { [Header.replay]: plan.id },
        status: () => progress.snapshot(),
      },
    });
    this.#app = app;
    registerReplayMetrics(app.registry, () => progress.snapshot());
    const display = createProgressDisplay({
      mode: this.#o.display ?? 'none',
      logger: this.#o.logger,
      ...(this.#o.progressIntervalMs === undefined ? {} : { logIntervalMs: this.#o.progressIntervalMs }),
    });

    this.#log.info(
      { id: plan.id, input: plan.topic, target: args.toTopic, dlq: config.dlqTopic, total: progress.total, done: progress.done },
      prepared.committed.size > 0 && progress.done > 0 ? 'resuming replay' : 'starting replay',
    );
    try {
      await app.start();
    } catch (err) {
      await app.stop();
      await this.#closeOffsets();
      throw err;
    }
    const running = Date.now();
    let lastPoll = 0;
    for (;;) {
      for (const a of app.status().assignments) if (a.topic === plan.topic) progress.observe(a.partition, a.committedOffset);
      if (Date.now() - lastPoll >= BROKER_POLL_MS) {
        lastPoll = Date.now();
        await this.#pollCommitted(prepared.group, progress);
      }
      progress.sample();
      display.update(progress.snapshot());
      if (progress.complete || this.#interrupted || fatal !== null) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, TICK_MS);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const runMs = Date.now() - running;
    if (progress.complete) this.#log.info({ id: plan.id }, 'replay range done; stopping');
    const code = await app.stop();
    await this.#pollCommitted(prepared.group, progress);
    await this.#closeOffsets();
    display.stop(progress.snapshot());
    const outcome = progress.complete ? 'complete' : fatal !== null || code !== 0 ? 'failed' : 'interrupted';
    return {
      outcome,
      prepared,
      status: progress.snapshot(),
      counts: app.status().counts,
      startupMs: running - started,
      runMs,
      ...(fatal !== null ? { error: fatal } : {}),
    };
  }

  /** The admin server's port while run() runs (useful with adminPort 0). */
  get adminPort(): number | null {
    return this.#app?.adminPort ?? null;
  }

  /** Stops a running replay gracefully (what is in flight is written and committed); a re-run resumes. */
  interrupt(): void {
    this.#interrupted = true;
    this.#wake();
  }

  /** Releases the broker connection prepare() opened, when run() is not called (dry run). */
  close(): Promise<void> {
    return this.#closeOffsets();
  }

  async #pollCommitted(group: string, progress: ReplayProgress): Promise<void> {
    try {
      const offsets = await this.#connectOffsets(group);
      for (const [partition, offset] of await offsets.committed(this.#o.config.inputTopic)) progress.observe(partition, offset);
    } catch (err) {
      this.#log.debug({ err }, 'cannot read the replay group offsets');
    }
  }

  /** The group's offsets reader, checked to reach the cluster (BROKER_UNAVAILABLE naming the brokers if not). */
  async #connectOffsets(group: string): Promise<GroupOffsets> {
    if (this.#offsets) return this.#offsets;
    const offsets = new GroupOffsets(this.#kafka, group);
    try {
      await offsets.committed(this.#o.config.inputTopic);
    } catch (cause) {
      await offsets.close().catch(() => {});
      throw brokerUnavailable(`cannot reach ${this.#o.config.brokers!.join(',')}`, cause);
    }
    this.#offsets = offsets;
    return offsets;
  }

  async #closeOffsets(): Promise<void> {
    const offsets = this.#offsets;
    this.#offsets = null;
    await offsets?.close().catch(() => {});
  }
}


/** The target is never the input (a replay would feed itself) nor the dead-letter topic. */
function checkTargets(config: Config, args: ReplayArgs): void {
  const name = settings.outputTopic.schema.safeParse(args.toTopic);
  if (!name.success) throw invalidArguments(`--to-topic: ${name.error.issues.map((i) => i.message).join('; ')} (got ${JSON.stringify(args.toTopic)})`);
  if (args.toTopic === config.inputTopic) {
    throw invalidArguments(`--to-topic must differ from the input topic (INPUT_TOPIC / --input-topic = ${config.inputTopic}): a replay never writes to the topic it reads`);
  }
  if (args.toTopic === config.dlqTopic) {
    throw invalidArguments(`--to-topic must differ from the dead-letter topic (DLQ_TOPIC / --dlq-topic = ${config.dlqTopic})`);
  }
}
