import { ErrorCodes, RecordError, StreamserveError } from '../errors.js';
import type { Scorer } from '../scorer/scorer.js';
import type { InputFields, Outcome } from '../scorer/outcome.js';

export interface RequestQueueOptions {
  scorer: Pick<Scorer, 'submit' | 'healthy'>;
  /** Rows waiting for their model call at most (HTTP_MAX_QUEUE); a request past it is refused at once (429). */
  maxQueue: number;
  /** The longest a request waits for its outcomes (HTTP_TIMEOUT_MS); a caller may ask for less. */
  timeoutMs: number;
}

export interface RequestOptions {
  /** A deadline shorter than HTTP_TIMEOUT_MS (never longer). */
  timeoutMs?: number;
  /** Registers what to call when the caller goes away before its answer (its unscored rows then are not scored). */
  cancelOn?: (cancel: () => void) => void;
}

/** Why a request was not answered with outcomes: each is an HTTP status for the caller. */
export const ShedReasons = ['overloaded', 'deadline', 'cancelled', 'unavailable', 'shutting_down'] as const;
export type ShedReason = (typeof ShedReasons)[number];

/** A request refused or abandoned: the code and the HTTP status it answers with (`retryAfterSeconds` for 429). */
export class ShedError extends StreamserveError {
  readonly reason: ShedReason;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(reason: ShedReason, message: string, retryAfterSeconds?: number) {
    super(CODES[reason], message, { retryable: reason !== 'cancelled' });
    this.name = 'ShedError';
    this.reason = reason;
    this.status = STATUS[reason];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const CODES = {
  overloaded: ErrorCodes.OVERLOADED,
  deadline: ErrorCodes.DEADLINE_EXCEEDED,
  cancelled: ErrorCodes.REQUEST_CANCELLED,
  unavailable: ErrorCodes.MODEL_UNAVAILABLE,
  shutting_down: ErrorCodes.SHUTTING_DOWN,
} as const;
const STATUS = { overloaded: 429, deadline: 504, cancelled: 499, unavailable: 503, shutting_down: 503 } as const;

/**
 * The HTTP input's side of the scorer: every request's rows go in as one urgent batch (ahead of any Kafka backlog),
 * and come back as one outcome per row, in order. Overload and failure are answered, never queued forever: past
 * `maxQueue` waiting rows a request is refused at once (OVERLOADED, 429); a request not answered by its deadline
 * gets DEADLINE_EXCEEDED (504); a caller that goes away (its signal) takes its unscored rows out of the queue; while
 * the model is unavailable, or once closing, a request is refused (503).
 */
export class RequestQueue {
  readonly #o: RequestQueueOptions;
  #waiting = 0;
  #inFlight = 0;
  #closing = false;
  #idle: (() => void) | null = null;

  constructor(options: RequestQueueOptions) {
    this.#o = options;
  }

  /** Rows admitted and not yet answered or abandoned. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Scores `inputs` (already read; a RecordError stays that row's outcome). Rejects with a ShedError when refused or
   * abandoned. `timeoutMs` shortens the deadline (never lengthens it); `cancelOn` registers the function to call when
   * the caller goes away. One AbortController per request tells the scorer either (AbortSignal.any and a controller
   * per cause cost ~9% of the main thread at saturation).
   */
  async score(inputs: readonly (InputFields | RecordError)[], options: RequestOptions = {}): Promise<Outcome[]> {
    if (this.#closing) throw new ShedError('shutting_down', 'the server is shutting down; retry on another instance');
    if (!this.#o.scorer.healthy) throw new ShedError('unavailable', 'the model is unavailable (it fails rows it is known to score); retry later');
    const rows = inputs.length;
    if (this.#waiting > 0 && this.#waiting + rows > this.#o.maxQueue) {
      throw new ShedError('overloaded', `${this.#waiting} rows are waiting for the model (HTTP_MAX_QUEUE ${this.#o.maxQueue}); retry shortly`, 1);
    }
    const timeoutMs = Math.min(this.#o.timeoutMs, options.timeoutMs ?? Infinity);
    const abandon = new AbortController();
    let answer: ((outcomes: Outcome[]) => void) | null = null;
    let refuse: ((err: ShedError) => void) | null = null;
    const give = (err: ShedError) => {
      if (abandon.signal.aborted) return;
      abandon.abort(err);
      refuse?.(err);
    };
    const timer = setTimeout(() => give(new ShedError('deadline', `not answered within ${timeoutMs} ms`)), Math.max(1, timeoutMs));
    options.cancelOn?.(() => give(new ShedError('cancelled', 'the caller went away before the answer')));

    this.#waiting += rows;
    this.#inFlight++;
    try {
      return await new Promise<Outcome[]>((resolve, reject) => {
        answer = resolve;
        refuse = reject;
        if (abandon.signal.aborted) return reject(abandon.signal.reason as ShedError);
        this.#o.scorer.submit({ inputs, urgent: true, source: 'http', signal: abandon.signal, done: (outcomes) => answer?.(outcomes) });
      });
    } finally {
      answer = null;
      refuse = null;
      clearTimeout(timer);
      this.#waiting -= rows;
      if (--this.#inFlight === 0) this.#idle?.();
    }
  }

  /** Refuses new requests (503) from now on; resolves when every admitted request is answered. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => (this.#idle = resolve));
  }
}
