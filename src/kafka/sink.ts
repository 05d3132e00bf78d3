import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../pipeline/record.js';
import type { Sink } from '../pipeline/sink.js';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';

/**
 * Writes outcomes with an idempotent producer (acks=all, one request in flight per broker), so a retried
 * send neither duplicates nor reorders a partition's messages.
 */
export class KafkaSink implements Sink {
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

  async send(messages: OutboundMessage[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      const message: Message = { key: m.key, value: m.value, headers: m.headers };
      if (m.timestamp !== undefined) message.timestamp = m.timestamp;
      list.push(message);
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs }));
    try {
      await this.#producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None });
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.PRODUCE_FAILED, `writing ${messages.length} outcomes failed: ${messageOf(cause)}`, {
        retryable: true,
        cause,
      });
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
