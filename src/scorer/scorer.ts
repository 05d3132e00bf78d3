import type { Logger } from 'pino';
import type { ModelRuntime } from '../model/model.js';
import { ErrorCodes, RecordError, messageOf } from '../errors.js';
import { noopObserver, type Observer, type RowSource } from '../observer.js';
import { BatchPolicy } from './batcher.js';
import { featurize, type Features } from './featurize.js';
import { scoreRows, type RowResult } from './infer.js';
import { ModelHealth } from './modelHealth.js';
import { NextTurn } from './nextTurn.js';
import type { InputFields, Outcome } from './outcome.js';

/**
 * Inputs handed to the scorer together, with the function that takes their outcomes. An input submits one per
 * unit it acknowledges (a fetched batch of one partition, an HTTP request).
 */
export interface ScoreBatch {
  /** Each input's fields, or the error it already failed with (a decode failure), kept in place so outcomes line up. */
  inputs: readonly (InputFields | RecordError)[];
  /** An interactive caller is waiting: these rows go into the next model call ahead of any backlog. */
  urgent?: boolean;
  /** Where the rows came from, for the rows-per-call metric (default `kafka`). */
  source?: RowSource;
  /**
   * The caller gave up (a deadline, a disconnect): rows of this batch not yet in a model call are not scored; their
   * outcome is a REQUEST_CANCELLED error. Rows already in a call are scored as usual.
   */
  signal?: AbortSignal;
  /**
   * Called once, when every input has its outcome: `outcomes[i]` is the outcome of `inputs[i]`. Batches submitted
   * with the same urgency are answered in submission order (an empty batch is answered at once). Must not throw.
   */
  done(outcomes: Outcome[]): void;
}

export interface ScorerOptions {
  model: ModelRuntime;
  maxBatchSize: number;
  maxBatchDelayMs: number;
  logger: Logger;
  observer?: Observer;
  /** Attempts for a model call whose failure is marked retryable, before the batch is split. */
  inferRetries?: number;
  inferRetryBackoffMs?: number;
  /** A model call that takes longer is abandoned and the runtime restarted (INFERENCE_TIMEOUT_MS; 0: none). */
  inferTimeoutMs?: number;
  /** First wait before trying a model that failed the known-good row again (doubles up to 10 s). */
  modelRetryBackoffMs?: number;
  now?: () => number;
}

interface Pending {
  batch: ScoreBatch;
  outcomes: Outcome[];
  remaining: number;
}

interface Entry {
  owner: Pending;
  index: number;
  features: Features | null;
  error: RecordError | null;
  /** Model calls ended when it was queued, and when (for HTTP rows' waits). */
  callsAtSubmit: number;
  submittedAt: number;
}

/**
 * The part every input shares: validate and featurize → batch → model → one outcome per input. It knows no Kafka,
 * HTTP or Avro: inputs decode their own wire format and write their own outcomes.
 *
 * Inputs are featurized as they arrive; valid and failed ones queue together in one batcher, so outcomes come back
 * in submission order. One model call runs at a time; while it runs the next batch accumulates (a backlog fills
 * whole batches), and when it ends whatever is queued is flushed (a quiet stream pays no linger) before a backlog's
 * outcomes are handed out. A model failure is isolated by bisection (infer.ts): only the rows that fail become
 * `infer` errors.
 */
export class Scorer {
  readonly #o: ScorerOptions;
  readonly #observer: Observer;
  readonly #batcher: BatchPolicy<Entry>;
  readonly #log: Logger;
  readonly #health: ModelHealth;
  #current: Promise<void> | null = null;
  /** Model calls (batches) ended so far. */
  #callsEnded = 0;
  #idleScheduled = false;
  /** Answers of non-urgent batches, handed out a turn later (after urgent callers' replies are written). */
  readonly #later = new NextTurn();
  #lastUrgentAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ScorerOptions) {
    this.#o = options;
    this.#observer = options.observer ?? noopObserver;
    this.#log = options.logger;
    this.#health = new ModelHealth({
      model: options.model,
      logger: options.logger,
      observer: this.#observer,
      ...(options.modelRetryBackoffMs === undefined ? {} : { backoffMs: options.modelRetryBackoffMs }),
    });
    this.#batcher = new BatchPolicy<Entry>({
      maxBatchSize: options.maxBatchSize,
      maxBatchDelayMs: options.maxBatchDelayMs,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  get model(): ModelRuntime {
    return this.#o.model;
  }

  /**
   * The model scores rows it is known to score. While false, nothing is answered: the scorer tries the same rows
   * again until the model works, and inputs should stop taking in more (onHealthChange).
   */
  get healthy(): boolean {
    return this.#health.healthy;
  }

  onHealthChange(listener: (healthy: boolean) => void): void {
    this.#health.onChange(listener);
  }

  /** When an urgent batch was last submitted (performance.now(); -Infinity before the first). */
  get lastUrgentAt(): number {
    return this.#lastUrgentAt;
  }

  /** Inputs queued for a model call (not counting the call running now). */
  get queued(): number {
    return this.#batcher.size;
  }

  /** Queues a batch's inputs for scoring. Never throws for a bad input: it becomes that input's outcome. */
  submit(batch: ScoreBatch): void {
    const { inputs } = batch;
    const owner: Pending = { batch, outcomes: new Array<Outcome>(inputs.length), remaining: inputs.length };
    if (inputs.length === 0) {
      this.#answer(owner);
      return;
    }
    const signature = this.#o.model.signature;
    const urgent = batch.urgent === true;
    const callsAtSubmit = this.#callsEnded;
    const submittedAt = batch.source === 'http' || urgent ? performance.now() : 0;
    if (urgent) this.#lastUrgentAt = submittedAt;
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index]!;
      let features: Features | null = null;
      let error: RecordError | null = null;
      if (input instanceof RecordError) error = input;
      else {
        try {
          features = featurize(signature, input);
        } catch (err) {
          error = err instanceof RecordError ? err : new RecordError('validate', ErrorCodes.MISSING_FIELD, messageOf(err));
        }
      }
      this.#batcher.add({ owner, index, features, error, callsAtSubmit, submittedAt }, urgent);
    }
    this.#schedule();
  }

  /** Flushes everything queued and resolves when every submitted batch has been answered. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#current) await this.#current;
      else if (this.#batcher.size > 0) this.#start();
      else if (this.#later.pending) await this.#later.ran;
      else return;
    }
  }

  /** Stops the flush timer and any retrying of a failed model (shutdown); a running model call still answers. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#health.close();
  }

  #schedule(): void {
    if (this.#current) return; // the end of the running call flushes what queued meanwhile
    if (this.#batcher.shouldFlush()) {
      this.#start();
      return;
    }
    if (!this.#idleScheduled) {
      // No more input immediately available once the event loop turns: flush then, without lingering.
      this.#idleScheduled = true;
      setImmediate(() => {
        this.#idleScheduled = false;
        if (!this.#current && this.#batcher.size > 0) this.#start();
      });
    }
    const wait = this.#batcher.msUntilDeadline();
    if (wait !== null && !this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#current && this.#batcher.size > 0) this.#start();
      }, wait);
    }
  }

  /**
   * Starts a model call. When it ends, urgent batches are answered, then the next call is scheduled, then (a turn
   * later, NextTurn) the other batches: the model works while a backlog's answers are encoded and written.
   */
  #start(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const entries = this.#batcher.take();
    this.#current = this.#score(entries)
      .then(
        (results) => void (results !== null && this.#settle(entries, results)),
        (err: unknown) => this.#log.error({ err }, 'a model call failed unexpectedly; its rows are left unanswered'),
      )
      .finally(() => {
        this.#current = null;
        if (this.#batcher.size > 0) this.#schedule();
      });
  }

  /**
   * Scores one batch's valid rows: one result per valid entry (the entries of callers that gave up are marked
   * REQUEST_CANCELLED instead). Never rejects. While the model fails rows it is known to score, the same rows are
   * tried again (modelHealth.ts); after close() it resolves with null and they are left unanswered.
   */
  async #score(entries: Entry[]): Promise<RowResult[] | null> {
    const valid: Entry[] = [];
    const bySource: Record<RowSource, number> = { kafka: 0, http: 0 };
    const now = performance.now();
    for (const e of entries) {
      if (e.features === null) continue;
      const { batch } = e.owner;
      if (batch.signal?.aborted === true) {
        e.features = null;
        e.error = new RecordError('infer', ErrorCodes.REQUEST_CANCELLED, `the caller gave up before this row was scored (${messageOf(batch.signal.reason)})`);
        continue;
      }
      valid.push(e);
      bySource[batch.source ?? 'kafka']++;
      if (batch.source === 'http') this.#observer.httpRowWait(this.#callsEnded - e.callsAtSubmit, (now - e.submittedAt) / 1000);
    }
    if (valid.length === 0) return [];
    this.#observer.callRows(bySource);
    const rows = valid.map((e) => e.features!.row);
    const results = await this.#health
      .untilAvailable(() =>
        scoreRows(this.#o.model, rows, {
          retries: this.#o.inferRetries ?? 2,
          retryBackoffMs: this.#o.inferRetryBackoffMs ?? 50,
          timeoutMs: this.#o.inferTimeoutMs ?? 0,
          knownGood: this.#health.knownGood,
          onModelCall: (count, seconds) => this.#observer.batch(count, seconds),
        }),
      )
      .catch((err: unknown) => valid.map(() => new RecordError('infer', ErrorCodes.INFERENCE_FAILED, messageOf(err))));
    this.#callsEnded++;
    if (results === null) return null;
    const good = results.findIndex((r) => !(r instanceof RecordError));
    if (good >= 0) this.#health.scored(rows[good]!);
    return results;
  }

  /**
   * Gives each entry its outcome (`results` in the order of the valid entries) and answers every batch whose last
   * input this was. Urgent batches are answered at once; the others a turn of the event loop later, after the
   * interactive callers' replies are written (a Kafka batch's answer encodes and produces its whole batch).
   */
  #settle(entries: Entry[], results: RowResult[]): void {
    let v = 0;
    for (const e of entries) {
      let outcome: Outcome;
      if (e.features === null) outcome = e.error!;
      else {
        const result = results[v++]!;
        outcome = result instanceof RecordError ? result : { id: e.features.id, eventTime: e.features.eventTime, outputs: result };
      }
      const owner = e.owner;
      owner.outcomes[e.index] = outcome;
      if (--owner.remaining > 0) continue;
      if (owner.batch.urgent === true) this.#answer(owner);
      else this.#later.add(() => this.#answer(owner));
    }
  }

  #answer(owner: Pending): void {
    try {
      owner.batch.done(owner.outcomes);
    } catch (err) {
      this.#log.error({ err }, 'an input failed to take its outcomes');
    }
  }
}
