import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';

export interface InputMessage {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  /** ms since epoch as a decimal string; the broker's time when absent. */
  timestamp?: string;
}

/** Publishes inputs for the CLI helpers, demos and tests: chunked, acks=all, idempotent. */
export class InputProducer {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #chunk: number;
  #closing: Promise<void> | null = null;

  constructor(kafka: Kafka, topic: string, chunk = 2000) {
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    this.#topic = topic;
    this.#chunk = chunk;
  }

  start(): Promise<void> {
    return this.#producer.connect();
  }

  async send(messages: readonly InputMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += this.#chunk) {
      await this.#producer.send({ topic: this.#topic, acks: -1, messages: messages.slice(i, i + this.#chunk) as Message[] });
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#producer.disconnect();
    return this.#closing;
  }
}
