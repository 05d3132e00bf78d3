/**
 * The chaos run's producer: keyed inputs at a fixed rate into each group's input topic, framed for the Schema
 * Registry (Confluent wire format), every one carrying what it must become in a header (the checker reads the
 * input topic back, so an input written twice by a retried send is simply two inputs). Generation keeps the rate
 * while the broker is away: what cannot be sent waits and goes out when it is back. The writer schema moves to a
 * new version now and then, so lookups of ids streamserve has not seen happen during the run, outages included.
 */
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { frameHeader } from '../src/codec/confluentFrame.js';
import { messageOf } from '../src/errors.js';
import { POISON_KINDS } from '../src/demo/poison.js';
import { mulberry32, sampleBoreholeInputs } from '../src/model/borehole.js';
import type { RegistryClient } from '../src/registry/client.js';
import { createKafka, withTimeout } from '../test/support/kafka.js';

/** What an input must become: `prediction`, or `deadLetter:<stage>:<code>`. */
export const EXPECT_HEADER = 'chaos.expect';
/** Every n-th input is poison (cycling through POISONS). */
const POISON_EVERY = 40;
const POISONS = POISON_KINDS.filter((p) => ['truncated avro', 'trailing bytes', 'NaN field', 'out of range'].includes(p.name));
const TICK_MS = 100;
const MAX_SEND = 2_000;
const BASE = JSON.parse(readFileSync('schemas/borehole-input.avsc', 'utf8')) as { fields: object[] } & Record<string, unknown>;

interface Writer {
  id: number;
  type: avro.Type;
  version: number;
}

export interface ProducerStats {
  generated: number;
  sent: number;
  /** Sends that failed and were tried again (their inputs may be on the topic twice). */
  failedSends: number;
  /** Writer schema versions registered per topic (the first included). */
  schemaVersions: number;
}

export interface ChaosProducerOptions {
  brokers: string[];
  topics: readonly string[];
  /** Inputs per second into each topic. */
  rate: number;
  /** Distinct keys; each key's inputs must come out in order. */
  keys: number;
  seed: number;
  registry: RegistryClient;
  /** A new writer schema version this often (ms). */
  evolveEveryMs: number;
  log: (line: string) => void;
}

export class ChaosProducer {
  readonly stats: ProducerStats = { generated: 0, sent: 0, failedSends: 0, schemaVersions: 0 };
  readonly #o: ChaosProducerOptions;
  #producer: Producer;
  /** Topics whose next version is being registered (a hung registry must not pile up registrations). */
  readonly #evolving = new Set<string>();
  readonly #writers = new Map<string, Writer>();
  readonly #pending = new Map<string, { key: string; value: Buffer; headers: Record<string, string>; timestamp: string }[]>();
  readonly #random: () => number;
  #seq = 0;
  #timers: NodeJS.Timeout[] = [];
  #sending: Promise<void> = Promise.resolve();
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(options: ChaosProducerOptions) {
    this.#o = options;
    this.#random = mulberry32(options.seed);
    this.#producer = this.#newProducer();
    for (const topic of options.topics) this.#pending.set(topic, []);
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    for (const topic of this.#o.topics) await this.#evolve(topic);
    const started = Date.now();
    let due = 0;
    this.#timers.push(
      setInterval(() => {
        // generate by the clock, not by ticks: a late tick makes up what it missed
        const target = Math.floor(((Date.now() - started) / 1000) * this.#o.rate);
        for (; due < target; due++) this.#generate();
        this.#wake?.();
      }, TICK_MS),
      setInterval(() => void Promise.all(this.#o.topics.map((t) => this.#evolve(t))), this.#o.evolveEveryMs),
    );
    this.#sending = this.#sendLoop();
  }

  /** Stops generating, sends what is waiting (within `drainMs`), and disconnects. */
  async stop(drainMs = 120_000): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#stopped = true;
    this.#wake?.();
    await withTimeout(this.#sending, drainMs, 'chaos producer drain');
    await withTimeout(this.#producer.disconnect(), 10_000, 'chaos producer disconnect');
  }

  #newProducer(): Producer {
    return createKafka(this.#o.brokers, 'chaos-producer').producer({ idempotent: true, retry: { retries: 3, initialRetryTime: 200 } });
  }

  #generate(): void {
    const n = this.#seq++;
    const key = `key-${Math.floor(this.#random() * this.#o.keys)}`;
    const [good] = sampleBoreholeInputs(1, this.#o.seed * 1_000_003 + n);
    for (const topic of this.#o.topics) {
      const writer = this.#writers.get(topic)!;
      const id = `c${n}`;
      const poison = n % POISON_EVERY === POISON_EVERY - 1 ? POISONS[(n / POISON_EVERY) % POISONS.length | 0]! : undefined;
      // the poison kinds are built for a writer type without the version's extra field, which has a default
      const body = poison === undefined ? writer.type.toBuffer({ id, event_time: Date.now(), ...good }) : poison.value(writer.type, id, good!);
      const expect = poison === undefined ? 'prediction' : `deadLetter:${poison.stage}:${poison.code}`;
      // the record's time is when it was generated, so a backlog sent after an outage is dated by the rate
      const timestamp = String(Date.now());
      this.#pending.get(topic)!.push({ key, value: Buffer.concat([frameHeader(writer.id), body!]), headers: { [EXPECT_HEADER]: expect }, timestamp });
      this.stats.generated++;
    }
  }

  async #sendLoop(): Promise<void> {
    let failures = 0;
    for (;;) {
      const batch = this.#o.topics
        .map((topic) => ({ topic, messages: this.#pending.get(topic)!.slice(0, MAX_SEND) }))
        .filter((b) => b.messages.length > 0);
      if (batch.length === 0) {
        if (this.#stopped) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        await this.#producer.sendBatch({ topicMessages: batch, acks: -1 });
        for (const b of batch) this.#pending.get(b.topic)!.splice(0, b.messages.length);
        this.stats.sent += batch.reduce((n, b) => n + b.messages.length, 0);
        failures = 0;
      } catch (err) {
        this.stats.failedSends++;
        this.#o.log(`producer: send failed (${messageOf(err)}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (++failures % 3 === 0) await this.#replaceProducer();
      }
    }
  }

  /** A producer whose sends keep failing may hold a broken idempotence state (a broker killed mid-send): start over. */
  async #replaceProducer(): Promise<void> {
    const old = this.#producer;
    await withTimeout(old.disconnect(), 10_000, 'chaos producer disconnect').catch(() => {});
    this.#producer = this.#newProducer();
    await this.#producer.connect().catch((err: unknown) => this.#o.log(`producer: reconnect failed (${messageOf(err)})`));
  }

  /** Registers the next writer version (an extra optional field) and writes with it; keeps the old one on failure. */
  async #evolve(topic: string): Promise<void> {
    if (this.#evolving.has(topic)) return;
    this.#evolving.add(topic);
    try {
      await this.#register(topic);
    } finally {
      this.#evolving.delete(topic);
    }
  }

  async #register(topic: string): Promise<void> {
    const version = (this.#writers.get(topic)?.version ?? -1) + 1;
    const schema = version === 0 ? BASE : { ...BASE, fields: [...BASE.fields, { name: `chaos_v${version}`, type: ['null', 'long'], default: null }] };
    try {
      const id = await this.#o.registry.register(`${topic}-value`, JSON.stringify(schema));
      this.#writers.set(topic, { id, type: avro.Type.forSchema(schema as avro.Schema), version });
      this.stats.schemaVersions++;
    } catch (err) {
      if (version === 0) throw err;
      this.#o.log(`producer: schema version ${version} of ${topic} not registered (${messageOf(err)}); writing with the last one`);
    }
  }
}
