/**
 * For the benchmark's stand-alone tools (whatif.ts, profileCompare.ts): a broker of their own with one pre-loaded
 * 6-partition input topic, and the section context to run drains and clients on it. Everything is stopped at the end,
 * on an error, or on SIGINT.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { loadAvroSchema } from '../src/index.js';
import { startBenchBroker, type BenchBroker } from './broker.js';
import { benchKafka } from './clients.js';
import { preload } from './inputs.js';
import { PLANS } from './plan.js';
import { killAllChildren } from './proc.js';
import type { Context } from './sections.js';
import { uniqueName } from './util.js';

const PARTITIONS = 6;

export async function withOwnBacklog<T>(
  p: { name: string; records: number; log: (line: string) => void },
  body: (ctx: Context, topic: string) => Promise<T>,
): Promise<T> {
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  let broker: BenchBroker | null = null;
  process.once('SIGINT', () => {
    killAllChildren();
    void broker?.cleanup().finally(() => process.exit(130));
  });
  try {
    broker = await startBenchBroker(() => {});
    const kafka = benchKafka(broker.brokers, `bench-${p.name}`);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [inputType, outputType] = await Promise.all([loadAvroSchema('schemas/borehole-input.avsc'), loadAvroSchema('schemas/borehole-prediction.avsc')]);
      const topic = uniqueName(`bench-${p.name}`);
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
      const loaded = await preload(kafka, inputType, topic, p.records, 'w');
      const logDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results', 'logs', p.name);
      mkdirSync(logDir, { recursive: true });
      const running = broker;
      const ctx: Context = {
        brokers: running.brokers, kafka, admin, inputType, outputType, plan: PLANS.quick, backlogTopic: topic, smallBacklogTopic: topic,
        partitions: PARTITIONS, meanInputBytes: loaded.meanBytes, logDir, allCpus: `0-${cpus().length - 1}`, brokerPid: () => running.pid() ?? null, log: p.log,
      };
      return await body(ctx, topic);
    } finally {
      await admin.disconnect();
    }
  } finally {
    killAllChildren();
    await broker?.cleanup();
  }
}
