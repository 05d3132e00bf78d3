import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/settings.js';
import { createLogger } from '../../../src/logger.js';
import { loadAvroSchema } from '../../../src/codec/schema.js';
import { createKafka as createAppKafka } from '../../../src/kafka/client.js';
import { InputProducer } from '../../../src/kafka/inputProducer.js';
import { demoInputs, type DemoInputs } from '../../../src/demo/demoInputs.js';
import { createTopics, uniqueName, type CleanupRegistry } from '../../support/kafka.js';

export function testBrokers(): string[] {
  const brokers = process.env.KAFKA_BROKERS?.split(',').filter((b) => b !== '');
  if (!brokers?.length) throw new Error('KAFKA_BROKERS is not set: run integration tests with `npm test` (it starts a broker)');
  return brokers;
}

export interface TestTopics {
  input: string;
  output: string;
  dlq: string;
  group: string;
}

export function testTopics(prefix: string): TestTopics {
  const base = uniqueName(prefix);
  return { input: `${base}-in`, output: `${base}-out`, dlq: `${base}-dlq`, group: `${base}-group` };
}

/** A validated Config for an in-process App on the test broker, with an ephemeral admin port. */
export function testConfig(topics: TestTopics, flags: Record<string, string> = {}): Config {
  return loadConfig({
    env: {},
    flags: {
      brokers: testBrokers().join(','),
      'input-topic': topics.input,
      'output-topic': topics.output,
      'dlq-topic': topics.dlq,
      group: topics.group,
      'admin-port': '0',
      'log-level': process.env.TEST_LOG_LEVEL ?? 'warn',
      'log-format': 'json',
      'session-timeout-ms': '10000',
      'heartbeat-interval-ms': '1000',
      ...flags,
    },
  });
}

export function testLogger(config: Config) {
  return createLogger({ level: config.logLevel, format: 'json' });
}

export async function getJson<T = Record<string, unknown>>(port: number, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

export async function getText(port: number, path: string): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).text();
}

/** The value of an unlabelled Prometheus sample, or of the first sample whose line contains `labels`. */
export function metricValue(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || (line.startsWith(`${name}{`) && line.includes(labels))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

/** Creates input and output topics with `partitions` partitions and a one-partition DLQ; deleted via `cleanup`. */
export async function createTestTopics(topics: TestTopics, partitions: number, cleanup: CleanupRegistry): Promise<void> {
  await createTopics(
    testBrokers(),
    [
      { topic: topics.input, partitions },
      { topic: topics.output, partitions },
      { topic: topics.dlq, partitions: 1 },
    ],
    cleanup,
  );
}

/** `count` demo inputs (every `poisonEvery`-th poison) published to the input topic; returns what was sent. */
export async function publishDemoInputs(
  config: Config,
  count: number,
  options: { seed: number; poisonEvery: number; prefix: string },
): Promise<DemoInputs> {
  const type = await loadAvroSchema(config.inputSchema);
  const inputs = demoInputs(type, count, options);
  const producer = new InputProducer(createAppKafka({ ...config, brokers: testBrokers() }, testLogger(config)), config.inputTopic);
  await producer.start();
  try {
    await producer.send(inputs.messages);
  } finally {
    await producer.close();
  }
  return inputs;
}
