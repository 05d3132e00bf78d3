import { CompressionTypes, Partitioners, type Kafka, type Producer, type TopicMessages } from 'kafkajs';
import { produceRequests } from './requests.js';
import type { Logger } from 'pino';
import type { OutboundMessage } from './records.js';
import type { ProducerSink } from './atLeastOnce.js';
import { ErrorCodes } from '../errors.js';
import { classifyKafkaError, kafkaFailure } from './errors.js';

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
        await this.#send(topicMessages);
      } catch (cause) {
        const topics = await this.#refused(topicMessages, cause);
        throw kafkaFailure(cause, { operation: 'write', topics }, { code: ErrorCodes.PRODUCE_FAILED, message: `writing ${messages.length} outcomes failed` });
      }
    }
  }

  #send(topicMessages: TopicMessages[]): Promise<unknown> {
    return this.#producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
  }

  /**
   * The topics of a request the broker refused. kafkajs does not say which topic an error is about; when a request
   * to several topics is refused for a topic's authorization, each topic is tried alone to find out (on the way to a
   * stop, so the extra writes cost nothing: nothing of them counts as written, at-least-once allows the repeats).
   */
  async #refused(request: TopicMessages[], cause: unknown): Promise<string[]> {
    const topics = request.map((t) => t.topic);
    if (topics.length < 2 || classifyKafkaError(cause).type !== 'TOPIC_AUTHORIZATION_FAILED') return topics;
    const refused: string[] = [];
    for (const t of request) {
      const one = t.messages.slice(0, 1);
      await this.#send([{ topic: t.topic, messages: one }]).catch((err: unknown) => {
        if (classifyKafkaError(err).type === 'TOPIC_AUTHORIZATION_FAILED') refused.push(t.topic);
      });
    }
    return refused.length > 0 ? refused : topics;
  }

  close(): Promise<void> {
    this.#closing ??= this.#producer.disconnect().then(() => {
      this.#connected = false;
      this.#log.info('producer disconnected');
    });
    return this.#closing;
  }
}
