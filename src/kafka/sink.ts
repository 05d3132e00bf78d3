import { CompressionTypes, Partitioners, type Kafka, type Producer } from 'kafkajs';
import { produceRequests } from './requests.js';
import type { Logger } from 'pino';
import type { OutboundMessage } from './records.js';
import type { ProducerSink } from './atLeastOnce.js';
import { ErrorCodes } from '../errors.js';
import { kafkaFailure } from './errors.js';

/**
 * Writes outcomes with an idempotent producer (acks=all, one request in flight per broker), so a retried
 * send neither duplicates nor reorders a partition's messages.
 */
export class KafkaSink implements ProducerSink {
  readonly #producer: Producer;
  readonly #log: Logger;
  #connected = false;
  #closing: Promise<void> | null = null;

  constructor(kafka: Kafka, logger: Logger) {
    this.#log = logger.child({ component: 'sink' });
    this.#producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 5 },
    });
    this.#producer.on(this.#producer.events.CONNECT, () => (this.#connected = true));
    this.#producer.on(this.#producer.events.DISCONNECT, () => (this.#connected = false));
  }

  get connected(): boolean {
    return this.#connected;
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    this.#connected = true;
    this.#log.info('producer connected');
  }

  /**
   * Rejects with a retryable PRODUCE_FAILED, or a fatal error (src/kafka/errors.ts) naming the topic refused. After
   * a rejection none of the messages count as written.
   */
  async send(messages: readonly OutboundMessage[]): Promise<void> {
    // In order, one request after another: a partition's messages keep their order across requests.
    for (const topicMessages of produceRequests(messages)) {
      try {
        await this.#producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
      } catch (cause) {
        const topics = topicMessages.map((t) => t.topic);
        throw kafkaFailure(cause, { operation: 'write', topics }, { code: ErrorCodes.PRODUCE_FAILED, message: `writing ${messages.length} outcomes failed` });
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#producer.disconnect().then(() => {
      this.#connected = false;
      this.#log.info('producer disconnected');
    });
    return this.#closing;
  }
}
