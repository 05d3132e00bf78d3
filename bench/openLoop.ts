/**
 * Open-loop load and end-to-end latency.
 *
 * The generator publishes inputs on a fixed schedule (record k at t0 + k / rate), whatever streamserve does; each
 * input's Kafka timestamp and its `event_time` are its *scheduled* time, so a generator that falls behind adds to the
 * measured latency instead of hiding it (no coordinated omission). Output topics are created with
 * `message.timestamp.type=LogAppendTime`, so an output's timestamp is the moment the broker appended it — when the
 * prediction became durable and readable. Latency = output append time − input scheduled time, read back from the
 * output topic after the run (so reading costs nothing while streamserve is measured). Input topics are
 * LogAppendTime too, and predictions carry `scored_at`, which splits each latency into its parts.
 */
import { CompressionTypes, type Kafka, type Message } from 'kafkajs';
import { type AvroType, readTopic, Header, sampleBoreholeInputs } from '../src/index.js';
import { percentile } from './stats.js';

export interface GeneratorResult {
  sent: number;
  /** Epoch ms of record 0's scheduled time. */
  t0: number;
  rate: number;
  /** How late sends left against their schedule, ms (the generator's own health). */
  lateP99Ms: number;
  lateMaxMs: number;
}

const SAMPLES = 10_000;

/**
 * Publishes `rate × seconds` inputs on schedule. Ids are `${prefix}-${k}`. Every `lingerMs` it sends what has come due
 * in one request (a producer's linger: Kafka's Java producer defaults to 5 ms); an input's wait for its send counts in
 * its latency, since its timestamp is its scheduled time.
 */
export async function generate(
  kafka: Kafka,
  type: AvroType,
  p: { topic: string; rate: number; seconds: number; prefix: string; lingerMs: number },
): Promise<GeneratorResult> {
  const samples = sampleBoreholeInputs(SAMPLES, 99);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const total = Math.round(p.rate * p.seconds);
  const interval = 1000 / p.rate;
  const t0 = Date.now() + 20;
  const late: number[] = [];
  const sends: Promise<unknown>[] = [];
  let failure: unknown = null;
  let next = 0;
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = Date.now();
        const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
        if (due > next) {
          const messages: Message[] = [];
          for (let k = next; k < due; k++) {
            const at = Math.round(t0 + k * interval);
            const id = `${p.prefix}-${k}`;
            messages.push({ key: id, value: type.toBuffer({ id, event_time: at, ...samples[k % SAMPLES]! }), timestamp: String(at) });
          }
          late.push(now - (t0 + next * interval));
          next = due;
          const send = producer.send({ topic: p.topic, acks: -1, compression: CompressionTypes.None, messages });
          send.catch((err: unknown) => (failure ??= err));
          sends.push(send);
        }
        if (next >= total || failure) {
          clearInterval(timer);
          resolve();
        }
      }, p.lingerMs);
    });
    await Promise.all(sends);
  } finally {
    await producer.disconnect();
  }
  if (failure) throw failure;
  late.sort((a, b) => a - b);
  return { sent: total, t0, rate: p.rate, lateP99Ms: percentile(late, 0.99), lateMaxMs: late[late.length - 1] ?? 0 };
}

export interface OutputTiming {
  /** Input scheduled time (the prediction's event_time, the input's intended CreateTime), epoch ms. */
  inputAt: number;
  /** When the broker appended the input (input topics are LogAppendTime too), epoch ms; NaN if unknown. */
  inputAppendAt: number;
  /** The prediction's scored_at: when streamserve encoded it, epoch ms. */
  scoredAt: number;
  /** Output LogAppendTime, epoch ms. */
  outputAt: number;
}

/**
 * Reads every prediction on `outputTopic` (until `expected` or 10 s of silence) and the append time of the input
 * each came from (by the lineage headers' partition and offset).
 */
export async function readOutputTimes(kafka: Kafka, outputType: AvroType, inputTopic: string, outputTopic: string, expected: number): Promise<OutputTiming[]> {
  const appended = new Map<string, number>();
  await readTopic(kafka, inputTopic, { max: expected, idleMs: 10_000, onMessage: (m) => appended.set(`${m.partition}:${m.offset}`, Number(m.timestamp)) });
  const times: OutputTiming[] = [];
  await readTopic(kafka, outputTopic, {
    max: expected,
    idleMs: 10_000,
    onMessage: (m) => {
      const p = outputType.fromBuffer(m.value!) as { event_time: number; scored_at: number };
      const source = `${m.headers?.[Header.sourcePartition]?.toString()}:${m.headers?.[Header.sourceOffset]?.toString()}`;
      times.push({ inputAt: p.event_time, inputAppendAt: appended.get(source) ?? Number.NaN, scoredAt: p.scored_at, outputAt: Number(m.timestamp) });
    },
  });
  return times;
}

export interface WindowLatency {
  /** End to end: output append time − input scheduled time, ms. */
  e2e: number[];
  /** The parts: scheduled → input appended (the load generator's produce), appended → scored (fetch, queue, model), scored → output appended (send, ack). */
  toInputLog: number[];
  toScored: number[];
  toOutputLog: number[];
}

/** Latencies (ms) of outputs whose input was scheduled within [from, to). */
export function latenciesIn(times: readonly OutputTiming[], from: number, to: number): WindowLatency {
  const w: WindowLatency = { e2e: [], toInputLog: [], toScored: [], toOutputLog: [] };
  for (const t of times) {
    if (t.inputAt < from || t.inputAt >= to) continue;
    w.e2e.push(t.outputAt - t.inputAt);
    if (Number.isFinite(t.inputAppendAt)) {
      w.toInputLog.push(t.inputAppendAt - t.inputAt);
      w.toScored.push(t.scoredAt - t.inputAppendAt);
    }
    w.toOutputLog.push(t.outputAt - t.scoredAt);
  }
  return w;
}
