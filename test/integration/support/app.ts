import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/settings.js';
import { createLogger } from '../../../src/logger.js';
import { uniqueName } from '../../support/kafka.js';

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
