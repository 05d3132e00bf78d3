import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { loadAvroSchema } from '../codec/schema.js';
import { createKafka } from '../kafka/client.js';
import { InputProducer, type InputMessage } from '../kafka/inputProducer.js';
import { sampleBoreholeInputs } from '../model/borehole.js';
import { requireSettings } from '../config/load.js';
import { messageOf } from '../errors.js';
import { commandContext, intFlag } from './context.js';

/**
 * `streamserve produce [--file F]`: JSON lines (one input object per line; stdin by default) → Avro inputs
 * on the input topic, keyed by id. Bad lines are reported with their line number and not sent.
 */
export async function produceCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, { file: { type: 'string' }, topic: { type: 'string' } });
  requireSettings(config, ['brokers'], 'produce');
  const topic = (flags.topic as string | undefined) ?? config.inputTopic;
  const type = await loadAvroSchema(config.inputSchema);
  const file = flags.file as string | undefined;
  const lines = createInterface({ input: file ? createReadStream(file) : process.stdin, crlfDelay: Infinity });
  const messages: InputMessage[] = [];
  let lineNo = 0;
  let bad = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      const obj = JSON.parse(line) as Record<string, unknown>;
      obj.event_time ??= Date.now();
      const value = type.toBuffer(obj);
      messages.push({ key: typeof obj.id === 'string' ? obj.id : null, value });
    } catch (err) {
      bad++;
      process.stderr.write(`line ${lineNo}: not a valid input: ${messageOf(err)}\n`);
    }
  }
  const producer = new InputProducer(createKafka({ ...config, brokers: config.brokers! }, logger), topic);
  await producer.start();
  try {
    await producer.send(messages);
  } finally {
    await producer.close();
  }
  process.stderr.write(`produced ${messages.length} inputs to ${topic}${bad ? `; ${bad} bad lines skipped` : ''}\n`);
  return bad > 0 ? 1 : 0;
}

/** `streamserve generate --count N [--seed S]`: N random borehole inputs (uniform in range), for demos and load. */
export async function generateCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, { count: { type: 'string' }, seed: { type: 'string' }, topic: { type: 'string' } });
  requireSettings(config, ['brokers'], 'generate');
  const count = intFlag(flags, 'count', 1000, 1);
  const seed = intFlag(flags, 'seed', 1);
  const topic = (flags.topic as string | undefined) ?? config.inputTopic;
  const type = await loadAvroSchema(config.inputSchema);
  const producer = new InputProducer(createKafka({ ...config, brokers: config.brokers! }, logger), topic);
  await producer.start();
  const started = performance.now();
  try {
    const chunk = 10_000;
    for (let from = 0; from < count; from += chunk) {
      const n = Math.min(chunk, count - from);
      const inputs = sampleBoreholeInputs(n, seed + from);
      await producer.send(
        inputs.map((x, i) => {
          const id = `gen-${seed}-${from + i}`;
          return { key: id, value: type.toBuffer({ id, event_time: Date.now(), ...x }) };
        }),
      );
    }
  } finally {
    await producer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`produced ${count} inputs to ${topic} in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)\n`);
  return 0;
}
