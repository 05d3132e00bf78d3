import { loadAvroSchema } from '../codec/schema.js';
import { createKafka } from '../kafka/client.js';
import { Header } from '../kafka/headers.js';
import { readTopic } from '../kafka/topicReader.js';
import { requireSettings } from '../config/load.js';
import type { Config } from '../config/settings.js';
import { commandContext, intFlag } from './context.js';
import { valueReader } from './wireFraming.js';
import type { InputRecord } from '../kafka/records.js';

function headerStrings(m: InputRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v.toString();
  return out;
}

/** The framing of what is read: `--wire-format` on the command line, else the format the topic's writer uses. */
function formatOf(argv: string[], config: Config, deadLetters: boolean): Config['wireFormat'] {
  if (argv.some((a) => a === '--wire-format' || a.startsWith('--wire-format='))) return config.wireFormat;
  // dead letters hold inputs as they came (WIRE_FORMAT); predictions are written as OUTPUT_WIRE_FORMAT says
  return deadLetters ? config.wireFormat : config.outputWireFormat;
}

/**
 * `streamserve consume [--topic T] [--dead-letters [--code C,…]] [--wire-format raw|confluent] [--read-uncommitted]
 * [--max N] [--idle-ms MS]`: prints predictions, or dead letters, as JSON lines on stdout. Reads committed records only
 * (what a read_committed consumer sees under exactly-once) unless `--read-uncommitted`. A dead letter shows its error
 * headers and its original value decoded when it can be (with the input schema, or the writer schema of its registry
 * id), else why not, and always the bytes as base64.
 */
export async function consumeCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, {
    topic: { type: 'string' },
    'dead-letters': { type: 'boolean' },
    code: { type: 'string' },
    'read-uncommitted': { type: 'boolean' },
    max: { type: 'string' },
    'idle-ms': { type: 'string' },
  });
  requireSettings(config, ['brokers'], 'consume');
  const deadLetters = flags['dead-letters'] === true;
  const topic = (flags.topic as string | undefined) ?? (deadLetters ? config.dlqTopic : config.outputTopic);
  const type = await loadAvroSchema(deadLetters ? config.inputSchema : config.outputSchema);
  const codes = typeof flags.code === 'string' ? new Set(flags.code.split(',').map((c) => c.trim())) : null;
  const max = flags.max === undefined ? undefined : intFlag(flags, 'max', 0, 1);
  const reader = valueReader(formatOf(argv, config, deadLetters), config, type);
  // Lines are printed in read order: each waits for the one before (a registry lookup may be in flight).
  let printing: Promise<void> = Promise.resolve();
  let failed: unknown;
  const print = async (m: InputRecord): Promise<void> => {
    const headers = headerStrings(m);
    const base = { partition: m.partition, offset: m.offset, key: m.key?.toString() ?? null, timestamp: Number(m.timestamp) };
    const decoded = m.value ? await reader.read(m.value) : { value: null };
    if (!deadLetters) {
      process.stdout.write(`${JSON.stringify({ ...base, headers, ...decoded })}\n`);
      return;
    }
    const error = {
      stage: headers[Header.errorStage],
      code: headers[Header.errorCode],
      message: headers[Header.errorMessage],
      ...(headers[Header.errorSchemaId] === undefined ? {} : { schemaId: Number(headers[Header.errorSchemaId]) }),
    };
    const value = 'value' in decoded ? { value: decoded.value } : { value: null, value_error: decoded.error };
    process.stdout.write(`${JSON.stringify({ ...base, error, ...value, value_base64: m.value?.toString('base64') ?? null, headers })}\n`);
  };
  try {
    await readTopic(createKafka({ ...config, brokers: config.brokers! }, logger), topic, {
      ...(max === undefined ? {} : { max }),
      idleMs: intFlag(flags, 'idle-ms', 3000, 100),
      readCommitted: flags['read-uncommitted'] !== true,
      onMessage: (m) => {
        if (codes && !codes.has(headerStrings(m)[Header.errorCode] ?? '')) return;
        printing = printing.then(() => (failed === undefined ? print(m) : undefined)).catch((err: unknown) => void (failed ??= err));
      },
    });
    await printing;
  } finally {
    reader.close();
  }
  if (failed !== undefined) throw failed;
  return 0;
}
