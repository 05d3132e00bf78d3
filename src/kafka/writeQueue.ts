import type { Logger } from 'pino';
import type { InputRecord, OutboundMessage } from './records.js';

interface Queued {
  records: InputRecord[];
  messages: OutboundMessage[];
}

/**
 * Writes outcomes in the order they were pushed, one write at a time. While a write runs, later pushes join the one
 * write queued behind it, so a busy broker gets fewer, larger requests instead of falling one request per push
 * behind; order holds because pushes are appended in push order. Pushes made in one turn of the event loop (one
 * model call's outcomes) go out together.
 */
export class WriteQueue {
  readonly #write: (records: InputRecord[], messages: OutboundMessage[]) => Promise<void>;
  readonly #log: Logger;
  #chain: Promise<void> = Promise.resolve();
  /** The write waiting behind the running one; later pushes join it. */
  #queued: Queued | null = null;

  /** `write` is called with each write's records and their outcomes; it should not reject. */
  constructor(write: (records: InputRecord[], messages: OutboundMessage[]) => Promise<void>, logger: Logger) {
    this.#write = write;
    this.#log = logger;
  }

  /** Queues outcomes for writing (`messages[i]` is the outcome of `records[i]`); the queue takes both arrays over. */
  push(records: InputRecord[], messages: OutboundMessage[]): void {
    const queued = this.#queued;
    if (queued) {
      for (let i = 0; i < records.length; i++) {
        queued.records.push(records[i]!);
        queued.messages.push(messages[i]!);
      }
      return;
    }
    const next: Queued = { records, messages };
    this.#queued = next;
    this.#then(() => {
      if (this.#queued === next) this.#queued = null;
      return this.#write(next.records, next.messages);
    });
  }

  /** Runs `step` after every write pushed so far; later pushes go after it. */
  barrier(step: () => Promise<void>): void {
    this.#queued = null;
    this.#then(step);
  }

  /** Resolves when everything pushed is written, including what was pushed while it waited. */
  async drain(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.#chain;
      await chain;
    } while (chain !== this.#chain);
  }

  #then(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(step).catch((err: unknown) => this.#log.error({ err }, 'writing outcomes failed unexpectedly'));
  }
}
