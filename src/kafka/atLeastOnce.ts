import type { Logger } from 'pino';
import { isStreamserveError } from '../errors.js';
import { brokerUnavailable } from './client.js';
import { isFatal } from './errors.js';
import { noopObserver, type Observer } from '../observer.js';
import type { KafkaOutput, OutputContext, Sink } from './output.js';
import type { InputRecord, OutboundMessage } from './records.js';
import { WriteHealth, type WriteHealthOptions } from './writeHealth.js';

/** The producer behind the output: src/kafka/sink.ts, or a stub in unit tests. */
export interface ProducerSink extends Sink {
  readonly connected: boolean;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface AtLeastOnceOutputOptions extends OutputContext {
  sink: ProducerSink;
  logger: Logger;
  observer?: Observer;
  /** Named in the error when the broker cannot be reached at start. */
  brokers?: readonly string[];
  health?: Omit<WriteHealthOptions, 'logger'>;
}

/**
 * At-least-once: outcomes go through one idempotent producer (acks=all), retried until the broker acknowledges them;
 * only then are their offsets marked done, for the input to commit. A crash between the write and the commit
 * repeats outcomes; it never loses one.
 */
export class AtLeastOnceOutput implements KafkaOutput {
  readonly commitsOffsets = false;
  readonly #o: AtLeastOnceOutputOptions;
  readonly #health: WriteHealth;
  readonly #observer: Observer;

  constructor(options: AtLeastOnceOutputOptions) {
    this.#o = options;
    this.#observer = options.observer ?? noopObserver;
    this.#health = new WriteHealth({ ...options.health, logger: options.logger });
  }

  get connected(): boolean {
    return this.#o.sink.connected;
  }

  get writable(): boolean {
    return this.#health.writable;
  }

  async start(): Promise<void> {
    try {
      await this.#o.sink.start();
    } catch (cause) {
      throw brokerUnavailable(`cannot connect to ${this.#o.brokers?.join(',') ?? 'the brokers'}`, cause, { operation: 'write' });
    }
  }

  async write(records: readonly InputRecord[], messages: readonly OutboundMessage[]): Promise<readonly InputRecord[]> {
    const written = await this.#health.untilWritten(
      () => (messages.length > 0 ? this.#o.sink.send(messages) : Promise.resolve()),
      (err, retryInMs) => {
        if (isFatal(err)) {
          // Logged once, where the process stops on it; what this write held stays uncommitted.
          this.#observer.sinkError(false);
          this.#o.logger.warn({ code: err.code, messages: messages.length }, 'writing outcomes failed for good; not retrying');
          this.#o.onFatal(err);
          return 'fatal';
        }
        this.#observer.sinkError(!isStreamserveError(err) || err.retryable);
        this.#o.logger.warn({ err, messages: messages.length, retryInMs }, 'writing outcomes failed; retrying');
        return 'retry';
      },
    );
    if (!written) return [];
    const { tracker } = this.#o;
    for (const r of records) tracker.done(r.topic, r.partition, r.offset);
    return records;
  }

  passedOver(): null {
    return null;
  }

  claim(): Promise<null> {
    return Promise.resolve(null);
  }

  release(): void {}

  abort(): void {
    this.#health.abort();
  }

  close(): Promise<void> {
    return this.#o.sink.close();
  }
}
