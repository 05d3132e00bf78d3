/**
 * A TCP proxy in front of a Kafka broker that can lose the answer to a chosen request: it forwards the request,
 * lets the broker act on it, and cuts the client's connection when the answer comes back, before it arrives. The
 * broker advertises the proxy's port (`startOwnBroker(log, { proxy: true })`), so every client connection, the
 * broker's own included, goes through it. Kafka frames both ways are a 4-byte big-endian size and then the body; a
 * request body starts with api key (int16), api version (int16) and correlation id (int32), an answer body with the
 * correlation id.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Kafka API keys a test may cut the answer of. */
export const ApiKeys = { Produce: 0, OffsetCommit: 8, InitProducerId: 22, AddOffsetsToTxn: 25, EndTxn: 26, TxnOffsetCommit: 28 } as const;

export interface KafkaProxyOptions {
  /** Where the proxy listens on 127.0.0.1. */
  port: number;
  /** The broker's own port on 127.0.0.1. */
  targetPort: number;
}

export class KafkaProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  /** Answers still to cut, per api key. */
  readonly #toCut = new Map<number, number>();
  readonly #cut = new Map<number, number>();

  private constructor(server: Server, options: KafkaProxyOptions) {
    this.#server = server;
    this.port = options.port;
    this.#targetPort = options.targetPort;
  }

  static start(options: KafkaProxyOptions): Promise<KafkaProxy> {
    const server = createServer();
    const proxy = new KafkaProxy(server, options);
    server.on('connection', (client) => proxy.#pipe(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: options.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve(proxy);
      });
    });
  }

  /** Cuts the answers to the next `count` requests with `apiKey` (each on whichever connection carries it). */
  cutAnswers(apiKey: number, count = 1): void {
    this.#toCut.set(apiKey, (this.#toCut.get(apiKey) ?? 0) + count);
  }

  /** How many answers to `apiKey` were cut so far. */
  cutCount(apiKey: number): number {
    return this.#cut.get(apiKey) ?? 0;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: Socket): void {
    const broker = createConnection({ host: '127.0.0.1', port: this.#targetPort });
    for (const s of [client, broker]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => {});
    }
    const hangUp = () => {
      client.destroy();
      broker.destroy();
    };
    client.on('close', hangUp);
    broker.on('close', hangUp);
    client.pause(); // until the broker side is connected
    broker.on('connect', () => client.resume());

    /** Correlation ids on this connection whose answers are to be cut, with their api keys. */
    const doomed = new Map<number, number>();
    const requests = new FrameReader((frame) => {
      const apiKey = frame.readInt16BE(4);
      const left = this.#toCut.get(apiKey) ?? 0;
      if (left > 0) {
        this.#toCut.set(apiKey, left - 1);
        doomed.set(frame.readInt32BE(8), apiKey);
      }
      broker.write(frame);
    });
    const answers = new FrameReader((frame) => {
      const apiKey = doomed.get(frame.readInt32BE(4));
      if (apiKey === undefined) return client.write(frame);
      // The broker has acted on the request; its client never learns how.
      this.#cut.set(apiKey, this.cutCount(apiKey) + 1);
      hangUp();
      return false;
    });
    client.on('data', (chunk: Buffer) => requests.push(chunk));
    broker.on('data', (chunk: Buffer) => answers.push(chunk));
  }
}

/** Splits a byte stream into whole Kafka frames (size prefix included). */
class FrameReader {
  #buffer: Buffer = Buffer.alloc(0);
  readonly #onFrame: (frame: Buffer) => unknown;

  constructor(onFrame: (frame: Buffer) => unknown) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 4) {
      const end = 4 + this.#buffer.readInt32BE(0);
      if (this.#buffer.length < end) return;
      const frame = this.#buffer.subarray(0, end);
      this.#buffer = this.#buffer.subarray(end);
      this.#onFrame(frame);
    }
  }
}
