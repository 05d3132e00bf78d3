/**
 * `npx tsx bench/pipelineCost.ts [--records 300000] [--reps 5]`: what streamserve's pipeline costs the main thread per
 * input on top of the work (d) does, with no broker and no model. Both sides take the same kafkajs-shaped fetch
 * batches (6 partitions, ~2,900 messages each, like a 256 KiB fetch) and build the same prediction messages:
 *
 * - **(d)'s transform**: the record, Avro decode, `featurize`, prediction encode, `predictionMessage` (bench/clients.ts);
 * - **the pipeline**: the Kafka input (src/kafka/input.ts) handed each batch by a stub consumer, with the shared scorer,
 *   a model that answers at once (a constant output, no worker) and an at-least-once output whose producer acknowledges
 *   at once, until `drain()`: offset tracking, decoding, batching, in-flight accounting, the model call's row packing
 *   and output unpacking, the same encode and message, the write queue and the commits.
 *
 * The difference is what only streamserve pays in the main thread, besides the model worker's round trip and what
 * kafkajs does. Alternates the two, prints medians. To include the GC of streamserve's heap cap, run it with the node
 * flags it ships with: `node --max-old-space-size=256 --max-semi-space-size=8 --heap-growing-percent=50
 * --initial-old-space-size=96 --import tsx bench/pipelineCost.ts`.
 */
import { parseArgs } from 'node:util';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { loadAvroSchema, loadConfig, toInputRecord, sampleBoreholeInputs, type ModelRuntime, type OutboundMessage, KafkaInput, AtLeastOnceOutput, type BatchHandler, type InputConsumer, Scorer } from '../src/index.js';
import { predictionPath } from './clients.js';

const { values: args } = parseArgs({ options: { records: { type: 'string', default: '300000' }, reps: { type: 'string', default: '5' } } });
const RECORDS = Number(args.records);
const REPS = Number(args.reps);
const PARTITIONS = 6;
const PER_FETCH = 2_900;
const TOPIC = 'in';
const defaults = loadConfig({ env: {} });
const CONSUMER = {
  fromBeginning: true,
  sessionTimeoutMs: defaults.sessionTimeoutMs,
  heartbeatIntervalMs: defaults.heartbeatIntervalMs,
  maxBytesPerPartition: defaults.maxBytesPerPartition,
  fetchMaxWaitMs: defaults.fetchMaxWaitMs,
  fetchMinBytes: defaults.fetchMinBytes,
};

const inputType = await loadAvroSchema('schemas/borehole-input.avsc');
const path = await predictionPath('out');
const { signature } = path;

/** Fetch batches as kafkajs hands them to eachBatch: one partition each, in offset order. */
function fetchBatches(): { partition: number; messages: KafkaMessage[] }[] {
  const samples = sampleBoreholeInputs(10_000, 7);
  const next = new Array<number>(PARTITIONS).fill(0);
  const batches: { partition: number; messages: KafkaMessage[] }[] = [];
  for (let made = 0, p = 0; made < RECORDS; p = (p + 1) % PARTITIONS) {
    const messages: KafkaMessage[] = [];
    for (let i = 0; i < PER_FETCH && made < RECORDS; i++, made++) {
      const id = `in-${made}`;
      const value = inputType.toBuffer({ id, event_time: 1_700_000_000_000 + made, ...samples[made % samples.length]! });
      const offset = String(next[p]!++);
      messages.push({ key: Buffer.from(id), value, headers: {}, offset, timestamp: String(Date.now()), attributes: 0 } as KafkaMessage);
    }
    batches.push({ partition: p, messages });
  }
  return batches;
}

let sink: OutboundMessage[] | null = null; // kept so that neither side's messages can be optimised away

async function transformD(batches: ReturnType<typeof fetchBatches>): Promise<number> {
  for (const { partition, messages } of batches) {
    sink = messages.map((m) => path.predict(toInputRecord(TOPIC, partition, m)));
    await Promise.resolve();
  }
  return sink?.length ?? 0;
}

const instantModel: ModelRuntime = {
  signature,
  // What a real run stamps on every prediction's lineage header.
  runtime: 'tfjs-wasm',
  inputWidth: signature.inputs.length,
  outputWidth: signature.outputs.length,
  predict: (_rows, count) => Promise.resolve(new Float32Array(count * signature.outputs.length).fill(0.5)),
  close: () => Promise.resolve(),
};

/** A consumer that hands the prepared fetch batches to the input itself, as kafkajs would. */
class ReplayingConsumer implements InputConsumer {
  readonly joined = true;
  readonly fetching = true;
  paused = false;
  handler: BatchHandler | null = null;
  committed = 0;
  start(handler: BatchHandler): Promise<void> {
    this.handler = handler;
    return Promise.resolve();
  }
  commit(positions: readonly unknown[]): Promise<void> {
    this.committed += positions.length;
    return Promise.resolve();
  }
  setPaused(paused: boolean): void {
    this.paused = paused;
  }
  rejoin(): boolean {
    return true;
  }
  pauseForGood(): void {}
  stopFetching(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function pipelineG(batches: ReturnType<typeof fetchBatches>): Promise<number> {
  const logger = pino({ level: 'warn' });
  const consumer = new ReplayingConsumer();
  const scorer = new Scorer({ model: instantModel, maxBatchSize: defaults.maxBatchSize, maxBatchDelayMs: defaults.maxBatchDelayMs, logger });
  const input = new KafkaInput({
    kafka: {} as never, // never used: the consumer and the offsets reader are handed in
    consumer: { ...CONSUMER, topic: TOPIC, groupId: 'cost' },
    createConsumer: () => consumer,
    offsets: { committed: () => Promise.resolve(new Map()), ends: () => Promise.resolve(new Map()), close: () => Promise.resolve() },
    scorer,
    decoder: path.decoder,
    encoder: path.encoder,
    target: path.target,
    output: (context) =>
      new AtLeastOnceOutput({
        ...context,
        logger,
        sink: {
          connected: true,
          start: () => Promise.resolve(),
          close: () => Promise.resolve(),
          send: (messages) => {
            sink = messages as OutboundMessage[];
            return Promise.resolve();
          },
        },
      }),
    commitIntervalMs: defaults.commitIntervalMs,
    maxInflightRecords: Number.MAX_SAFE_INTEGER,
    logger,
    onFatal: () => {},
  });
  await input.start();
  for (const { partition, messages } of batches) {
    const last = messages[messages.length - 1]!.offset;
    await consumer.handler!.batch({ topic: TOPIC, partition, messages, lastOffset: last, highWatermark: last, current: () => true });
    await new Promise((resolve) => setImmediate(resolve)); // the next fetch arrives on a later turn of the event loop
  }
  await input.drain();
  await Promise.all(Object.values(input.close()));
  return consumer.committed;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const batches = fetchBatches();
const times: Record<'d' | 'g', number[]> = { d: [], g: [] };
for (let rep = -1; rep < REPS; rep++) {
  for (const [name, run] of [['d', transformD], ['g', pipelineG]] as const) {
    const t0 = performance.now();
    await run(batches);
    const us = ((performance.now() - t0) * 1000) / RECORDS;
    if (rep >= 0) times[name].push(us);
  }
}
const d = median(times.d);
const g = median(times.g);
console.log(`node ${process.version} ${process.execArgv.join(' ')}`);
console.log(`(d) transform:     ${d.toFixed(2)} µs per input  (${times.d.map((x) => x.toFixed(2)).join(', ')})`);
console.log(`streamserve pipeline: ${g.toFixed(2)} µs per input  (${times.g.map((x) => x.toFixed(2)).join(', ')})`);
console.log(`pipeline only:     ${(g - d).toFixed(2)} µs per input (medians)`);
