import { loadAvroSchema } from '../codec/schema.js';
import { createKafka } from '../kafka/client.js';
import { readTopic } from '../kafka/topicReader.js';
import { requireSettings } from '../config/load.js';
import { commandContext, intFlag } from './context.js';
import type { InputRecord } from '../kafka/records.js';

function headerStrings(m: InputRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v.toString();
  return out;
}

/**
 * `streamserve consume [--topic T] [--dead-letters] [--max N] [--idle-ms MS]`: prints predictions (decoded
 * with the output schema) or dead letters (headers, original value as base64) as JSON lines on stdout.
 */
export async function consumeCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, {
    topic: { type: 'string' },
    'dead-letters': { type: 'boolean' },
    max: { type: 'string' },
    'idle-ms': { type: 'string' },
  });
  requireSettings(config, ['brokers'], 'consume');
  const deadLetters = flags['dead-letters'] === true;
  const topic = (flags.topic as string | undefined) ?? (deadLetters ? config.dlqTopic : config.outputTopic);
  const type = await loadAvroSchema(config.outputSchema);
  const max = flags.max === undefined ? undefined : intFlag(flags, 'max', 0, 1);
  await readTopic(createKafka({ ...config, brokers: config.brokers! }, logger), topic, {
    ...(max === undefined ? {} : { max }),
    idleMs: intFlag(flags, 'idle-ms', 3000, 100),
    onMessage: (m) => {
      const base = { partition: m.partition, offset: m.offset, key: m.key?.toString() ?? null, timestamp: Number(m.timestamp), headers: headerStrings(m) };
      const line = deadLetters
        ? { ...base, value_base64: m.value?.toString('base64') ?? null }
        : { ...base, value: m.value ? type.fromBuffer(m.value) : null };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    },
  });
  return 0;
}
