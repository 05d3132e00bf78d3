import { randomBytes } from 'node:crypto';
import { App } from '../app.js';
import { loadAvroSchema } from '../codec/schema.js';
import { createKafka } from '../kafka/client.js';
import { InputProducer } from '../kafka/inputProducer.js';
import { startLocalBroker, type LocalBroker } from '../kafka/localBroker.js';
import { readTopic } from '../kafka/topicReader.js';
import { ensureTopics } from '../kafka/topics.js';
import { borehole } from '../model/borehole.js';
import { loadConfig } from '../config/load.js';
import { demoInputs } from '../demo/demoInputs.js';
import { Header } from '../kafka/headers.js';
import { createLogger } from '../logger.js';
import { startLocalRegistry, type LocalRegistry } from '../registry/localRegistry.js';
import { redactText } from '../redact.js';
import { commandContext, intFlag } from './context.js';
import { inputFraming, valueReader } from './wireFraming.js';

/** The demo's report; the commands it prints name the registry URL, whose credentials it never shows (src/redact.ts). */
const out = (line = '') => process.stdout.write(`${redactText(line)}\n`);

/**
 * `streamserve demo`: the whole path on one machine. Starts a local broker when KAFKA_BROKERS is unset,
 * creates fresh topics, publishes random borehole inputs with 1% poison, scores them with the example model,
 * and prints predictions against the true borehole function, the dead letters, and the rate reached.
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const ctx = commandContext(argv, { count: { type: 'string' }, partitions: { type: 'string' }, 'keep-broker': { type: 'boolean' } });
  const count = intFlag(ctx.flags, 'count', 20_000, 1);
  const partitions = intFlag(ctx.flags, 'partitions', 3, 1);
  // The demo prints its own report on stdout; logs stay at warn unless LOG_LEVEL asks for more.
  const log = process.env.LOG_LEVEL ? ctx.logger : createLogger({ level: 'warn', format: ctx.config.logFormat });

  const confluent = ctx.config.wireFormat === 'confluent' || ctx.config.outputWireFormat === 'confluent';
  let broker: LocalBroker | null = null;
  let registry: LocalRegistry | null = null;
  let brokers = ctx.config.brokers;
  if (!brokers) {
    out('No KAFKA_BROKERS set: starting a local Apache Kafka broker (first run downloads its jars with Maven)...');
    broker = await startLocalBroker({ port: 19092, log: (line) => log.debug({ component: 'kafka-local' }, line) });
    brokers = broker.brokers;
    out(`Local broker ready on ${brokers.join(',')}`);
  }
  let registryUrl = ctx.config.schemaRegistryUrl?.join(',');
  if (confluent && registryUrl === undefined) {
    out('No SCHEMA_REGISTRY_URL set: starting a local Apicurio Registry (first run downloads it with Maven)...');
    registry = await startLocalRegistry({ port: 18081, log: (line) => log.debug({ component: 'registry-local' }, line) });
    registryUrl = registry.url;
    out(`Local Schema Registry ready on ${registryUrl}`);
  }
  const run = randomBytes(3).toString('hex');
  const config = loadConfig({
    env: process.env,
    flags: {
      brokers: brokers.join(','),
      'input-topic': `demo-${run}-inputs`,
      'output-topic': `demo-${run}-predictions`,
      'dlq-topic': `demo-${run}-dead-letters`,
      group: `demo-${run}`,
      'admin-port': process.env.ADMIN_PORT ?? '0',
      'log-level': process.env.LOG_LEVEL ?? 'warn',
      // --wire-format confluent: inputs and predictions both framed with registry ids
      ...(confluent ? { 'wire-format': 'confluent', 'output-wire-format': 'confluent', 'schema-registry-url': registryUrl } : {}),
    },
  });
  const kafka = createKafka({ ...config, brokers }, log);
  let app: App | null = null;
  try {
    await ensureTopics(kafka, [config.inputTopic, config.outputTopic, config.dlqTopic].map((topic) => ({ topic, partitions })));
    out(`Topics: ${config.inputTopic} (${partitions} partitions) → ${config.outputTopic}, dead letters → ${config.dlqTopic}`);

    const [type, outputType] = await Promise.all([loadAvroSchema(config.inputSchema), loadAvroSchema(config.outputSchema)]);
    const inputs = demoInputs(type, count, { seed: 7, poisonEvery: 100, prefix: `demo-${run}` });
    // Confluent framing: every non-empty value (poison too) goes out behind the input schema's registry id.
    const framing = await inputFraming(config, type, config.inputTopic);
    const messages = inputs.messages.map((m) => (m.value && m.value.length > 0 ? { ...m, value: framing.frame(m.value) } : m));
    framing.close();
    const producer = new InputProducer(kafka, config.inputTopic);
    await producer.start();
    await producer.send(messages);
    await producer.close();
    out(`Published ${count} inputs (${inputs.poison.size} of them poison)${confluent ? ', Confluent-framed' : ''}`);

    app = new App({ config, logger: log });
    await app.start();
    out(`streamserve running: model ${config.modelDir}, runtime ${app.status().runtime}, admin http://${config.adminHost}:${app.adminPort}/status`);
    const t0 = Date.now();
    let firstAt = 0;
    for (;;) {
      const { counts, assignments } = app.status();
      const done = counts.predictions + counts.deadLetters;
      if (done > 0 && firstAt === 0) firstAt = Date.now();
      if (done >= count && assignments.every((a) => a.lag === 0)) break;
      if (Date.now() - t0 > 300_000) throw new Error(`timed out with ${done} of ${count} outcomes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (Date.now() - firstAt) / 1000;
    const status = app.status();
    await app.stop();
    app = null;

    const rows: { id: string; predicted: number; truth: number; partition: number; offset: string }[] = [];
    const reader = valueReader(config.outputWireFormat, config, outputType);
    const read: Promise<void>[] = [];
    await readTopic(kafka, config.outputTopic, {
      max: inputs.valid.size,
      idleMs: 5000,
      onMessage: (m) => void read.push(reader.read(m.value!).then((decoded) => {
        if (!('value' in decoded)) throw new Error(`prediction at ${m.partition}@${m.offset} does not decode: ${decoded.error}`);
        const p = decoded.value as { id: string; flow_rate: number };
        rows.push({
          id: p.id,
          predicted: p.flow_rate,
          truth: borehole(inputs.valid.get(p.id)!),
          partition: Number(m.headers?.[Header.sourcePartition]?.toString()),
          offset: m.headers?.[Header.sourceOffset]?.toString() ?? '',
        });
      })),
    });
    await Promise.all(read).finally(() => reader.close());
    const ape = rows.map((r) => Math.abs(r.predicted - r.truth) / r.truth);
    const mape = ape.reduce((a, b) => a + b, 0) / Math.max(1, ape.length);

    out();
    out('Sample predictions (flow_rate, m³/yr):');
    out('  id                     predicted      borehole()    error');
    for (const r of rows.slice(0, 8)) {
      out(`  ${r.id.padEnd(20)} ${r.predicted.toFixed(2).padStart(12)} ${r.truth.toFixed(2).padStart(14)}   ${((Math.abs(r.predicted - r.truth) / r.truth) * 100).toFixed(2)}%`);
    }
    out();
    out(`Predictions: ${status.counts.predictions}   mean abs. % error vs borehole(): ${(mape * 100).toFixed(3)}%`);
    out(`Dead letters: ${status.counts.deadLetters}`);
    for (const [code, n] of Object.entries(status.counts.deadLettersByStageAndCode)) out(`  ${code.padEnd(28)} ${n}`);
    out(`Rate: ${Math.round(count / seconds)} records/s (${count} records in ${seconds.toFixed(2)} s, first outcome to last commit)`);
    out();
    const framed = confluent ? ` SCHEMA_REGISTRY_URL=${registryUrl}` : '';
    out(`Read them yourself: KAFKA_BROKERS=${brokers.join(',')}${framed} npx streamserve consume --topic ${config.outputTopic} --max 5${confluent ? ' --wire-format confluent' : ''}`);
    return status.counts.predictions === inputs.valid.size && status.counts.deadLetters === inputs.poison.size ? 0 : 1;
  } finally {
    if (app) await app.stop();
    if (registry && ctx.flags['keep-broker'] !== true) {
      await registry.stop();
      out('Local Schema Registry stopped.');
    }
    if (broker && ctx.flags['keep-broker'] !== true) {
      await broker.stop();
      out('Local broker stopped (pass --keep-broker to keep it).');
    }
  }
}
