/**
 * Kafka client baselines, each run in a child process against the pre-loaded input topic:
 *
 * (b) `readOnly`  — a kafkajs consumer that only reads (counts messages).
 * (c) `forward` with `transform: 'copy'` — read → produce unchanged.
 * (d) `forward` with `transform: 'avro'` — read → Avro decode (+ validate/scale) → Avro encode of a prediction with
 *     streamserve's lineage headers → produce; no model.
 * (e) `naive` — one record at a time: decode, one model call, encode, one awaited send per record.
 *
 * (b)–(d) use streamserve's fetch settings, and (c)–(e) write through streamserve's own KafkaSink (idempotent,
 * acks=all, one request in flight), so the only difference to streamserve is the work between read and write.
 * (c) and (d) are written the way streamserve works — fetching goes on while earlier sends are acknowledged, offsets
 * are committed after the acknowledgement, at most 5,000 records in flight (its default) — so they are ceilings for it, not
 * strawmen. Timings start when the group is joined (GROUP_JOIN), so joins are never counted.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { createKafka, KafkaSink, toInputRecord, createLogger, loadAvroSchema, rawAvroDecoder, type InputDecoder, avroPredictionEncoder, type PredictionEncoder, featurize, predictionMessage, type OutcomeTarget, type InputRecord, type OutboundMessage, loadRuntime, loadSignature, unscaleOutput, type Signature, type BackendName, settings } from '../src/index.js';
import { memoryMB, withTimeout } from './util.js';

/** streamserve's defaults (src/config/settings.ts), so the baselines fetch the way it does. */
const defaultOf = <K extends keyof typeof settings>(name: K) => settings[name].schema.parse(undefined) as number;
export const FETCH = {
  maxBytesPerPartition: defaultOf('maxBytesPerPartition'),
  maxWaitTimeInMs: defaultOf('fetchMaxWaitMs'),
  minBytes: defaultOf('fetchMinBytes'),
} as const;
const MAX_INFLIGHT = defaultOf('maxInflightRecords');
const MODEL_DIR = 'weights/borehole';

const logger = createLogger({ level: 'warn', format: 'json' });

export function benchKafka(brokers: string[], clientId = 'bench'): Kafka {
  return createKafka({ clientId, ssl: false, saslMechanism: undefined, saslUsername: undefined, saslPassword: undefined, brokers }, logger);
}

export interface ClientResult {
  records: number;
  seconds: number;
  rate: number;
  /** Input value bytes per second. */
  mbPerSec?: number;
  peakRssMB: number | null;
  /** The measured window on the child's monotonic clock, µs (the time base of --cpu-prof profiles). */
  windowHrUs?: [number, number];
}

const hrUsAt = (performanceNow: number): number => Number(process.hrtime.bigint() / 1000n) - (performance.now() - performanceNow) * 1000;

interface ReadParams {
  brokers: string[];
  topic: string;
  groupId: string;
  count: number;
  timeoutMs: number;
}

interface ForwardParams extends ReadParams {
  outputTopic: string;
  transform: 'copy' | 'avro';
}

interface NaiveParams {
  brokers: string[];
  topic: string;
  outputTopic: string;
  groupId: string;
  backend: BackendName;
  /** Measured window, after `skipMs` past the join. */
  seconds: number;
  skipMs: number;
}

/** A consumer that records when it joined the group; runs `onBatch` until `done` settles. */
async function consume(
  p: { brokers: string[]; topic: string; groupId: string },
  run: (consumer: Consumer) => Parameters<Consumer['run']>[0],
  done: Promise<unknown>,
  timeoutMs: number,
  joined: (at: number) => void,
): Promise<void> {
  const consumer = benchKafka(p.brokers).consumer({ groupId: p.groupId, ...FETCH, allowAutoTopicCreation: false });
  consumer.on(consumer.events.GROUP_JOIN, () => joined(performance.now()));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [p.topic], fromBeginning: true });
    await consumer.run(run(consumer));
    await withTimeout(done, timeoutMs, `consuming ${p.topic}`);
  } finally {
    await withTimeout(consumer.disconnect(), 30_000, 'consumer disconnect').catch(() => {});
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** (b) Reads `count` records and does nothing with them. */
async function readOnly(p: ReadParams): Promise<ClientResult> {
  let joinedAt = 0;
  let doneAt = 0;
  let records = 0;
  let bytes = 0;
  const done = deferred();
  await consume(
    p,
    () => ({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (doneAt) return;
        records += batch.messages.length;
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        if (records >= p.count) {
          doneAt = performance.now();
          done.resolve();
        }
      },
    }),
    done.promise,
    p.timeoutMs,
    (at) => (joinedAt ||= at),
  );
  const seconds = (doneAt - joinedAt) / 1000;
  return { records, seconds, rate: records / seconds, mbPerSec: bytes / 1e6 / seconds, peakRssMB: memoryMB().peakRss };
}

/** What (d) does between read and write: streamserve's own decoder, features, encoder and outcome message. */
export interface PredictionPath {
  signature: Signature;
  decoder: InputDecoder;
  encoder: PredictionEncoder;
  target: OutcomeTarget;
  /** The prediction message for one record, with a constant in place of the model's output. */
  predict(record: InputRecord): OutboundMessage;
}

export async function predictionPath(outputTopic: string): Promise<PredictionPath> {
  const [inputType, outputType, signature] = await Promise.all([
    loadAvroSchema('schemas/borehole-input.avsc'),
    loadAvroSchema('schemas/borehole-prediction.avsc'),
    loadSignature(`${MODEL_DIR}/signature.json`),
  ]);
  const decoder = rawAvroDecoder(inputType);
  const encoder = avroPredictionEncoder(outputType, signature);
  const target: OutcomeTarget = { outputTopic, deadLetterTopic: `${outputTopic}-dlq`, signature, runtime: 'none' };
  const outputs = [1];
  return {
    signature,
    decoder,
    encoder,
    target,
    predict: (record) => {
      const features = featurize(signature, decoder.decode(record.value));
      const value = encoder.encode({ id: features.id, eventTime: features.eventTime, scoredAt: Date.now(), outputs });
      return predictionMessage(target, record, value);
    },
  };
}

/** (c)/(d) Read → (transform) → produce, pipelined like streamserve, commits after acknowledgement. */
async function forward(p: ForwardParams): Promise<ClientResult> {
  const kafka = benchKafka(p.brokers);
  const sink = new KafkaSink(kafka, logger);
  await sink.start();
  let transform: (topic: string, partition: number, m: KafkaMessage) => OutboundMessage;
  if (p.transform === 'copy') {
    transform = (_t, _p, m) => ({ topic: p.outputTopic, key: m.key ?? null, value: m.value ?? null, headers: m.headers ?? {} });
  } else {
    const path = await predictionPath(p.outputTopic);
    transform = (t, part, m) => path.predict(toInputRecord(t, part, m));
  }

  let joinedAt = 0;
  let doneAt = 0;
  let acked = 0;
  let inflight = 0;
  let chain: Promise<void> = Promise.resolve();
  const done = deferred();
  const positions = new Map<number, string>();
  let consumerRef: Consumer | null = null;
  let committing: Promise<void> | null = null;
  let commitAgain = false;
  const commit = (): void => {
    if (committing) {
      commitAgain = true;
      return;
    }
    const offsets = [...positions].map(([partition, offset]) => ({ topic: p.topic, partition, offset }));
    positions.clear();
    committing = consumerRef!
      .commitOffsets(offsets)
      .catch(() => {})
      .finally(() => {
        committing = null;
        if (commitAgain) {
          commitAgain = false;
          commit();
        }
      });
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning }: EachBatchPayload): Promise<void> => {
    if (!isRunning() || doneAt) return;
    const { topic, partition } = batch;
    const out = batch.messages.map((m) => transform(topic, partition, m));
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    const n = out.length;
    inflight += n;
    chain = chain.then(async () => {
      if (n > 0) await sink.send(out);
      inflight -= n;
      acked += n;
      positions.set(partition, next);
      commit();
      if (acked >= p.count && !doneAt) {
        doneAt = performance.now();
        done.resolve();
      }
    });
    chain.catch((err: unknown) => done.reject(err));
    resolveOffset(batch.lastOffset());
    await heartbeat();
    if (inflight >= MAX_INFLIGHT) await chain;
  };

  try {
    await consume(
      p,
      (consumer) => {
        consumerRef = consumer;
        return { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch };
      },
      done.promise,
      p.timeoutMs,
      (at) => (joinedAt ||= at),
    );
  } finally {
    await chain.catch(() => {});
    await sink.close();
  }
  const seconds = (doneAt - joinedAt) / 1000;
  return { records: acked, seconds, rate: acked / seconds, peakRssMB: memoryMB().peakRss, windowHrUs: [hrUsAt(joinedAt), hrUsAt(doneAt)] };
}

/** (e) The naive way: per record, decode, one model call (on this thread), encode, one awaited send. */
async function naive(p: NaiveParams): Promise<ClientResult & { modelMsPerCall: number }> {
  const model = await loadRuntime({ dir: MODEL_DIR, device: p.backend, warmupBatchSizes: [1] });
  const [inputType, outputType] = await Promise.all([loadAvroSchema('schemas/borehole-input.avsc'), loadAvroSchema('schemas/borehole-prediction.avsc')]);
  const signature = model.signature;
  const decoder = rawAvroDecoder(inputType);
  const encoder = avroPredictionEncoder(outputType, signature);
  const target: OutcomeTarget = { outputTopic: p.outputTopic, deadLetterTopic: `${p.outputTopic}-dlq`, signature, runtime: model.runtime };
  const kafka = benchKafka(p.brokers);
  const sink = new KafkaSink(kafka, logger);
  await sink.start();

  let processed = 0;
  let modelSeconds = 0;
  let joinedAt = 0;
  const window = { from: 0, to: 0, countFrom: 0, countTo: 0 };
  const done = deferred();
  const onJoin = (at: number) => {
    if (joinedAt) return;
    joinedAt = at;
    setTimeout(() => ((window.from = performance.now()), (window.countFrom = processed)), p.skipMs);
    setTimeout(() => {
      window.to = performance.now();
      window.countTo = processed;
      done.resolve();
    }, p.skipMs + p.seconds * 1000);
  };
  try {
    await consume(
      p,
      () => ({
        // the naive consumer keeps kafkajs' defaults: auto-commit, one message at a time
        eachMessage: async ({ topic, partition, message }) => {
          if (window.to) return;
          const record = toInputRecord(topic, partition, message);
          const features = featurize(signature, decoder.decode(record.value));
          const t0 = performance.now();
          const out = await model.predict(features.row, 1);
          modelSeconds += (performance.now() - t0) / 1000;
          const flow = unscaleOutput(signature.outputs[0]!, out[0]!);
          const value = encoder.encode({ id: features.id, eventTime: features.eventTime, scoredAt: Date.now(), outputs: [flow] });
          await sink.send([predictionMessage(target, record, value)]);
          processed++;
        },
      }),
      done.promise,
      p.skipMs + p.seconds * 1000 + 60_000,
      onJoin,
    );
  } finally {
    await sink.close();
    await model.close();
  }
  const records = window.countTo - window.countFrom;
  const seconds = (window.to - window.from) / 1000;
  return { records, seconds, rate: records / seconds, modelMsPerCall: (modelSeconds * 1000) / Math.max(1, processed), peakRssMB: memoryMB().peakRss };
}

export const clientHandlers = {
  readOnly: (p: ReadParams) => readOnly(p),
  forward: (p: ForwardParams) => forward(p),
  naive: (p: NaiveParams) => naive(p),
};
