import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { loadAvroSchema } from '../codec/schema.js';
import { createKafka } from '../kafka/client.js';
import { InputProducer, type InputMessage } from '../kafka/inputProducer.js';
import { sampleBoreholeInputs } from '../model/borehole.js';
import { requireSettings } from '../config/load.js';
import { messageOf } from '../errors.js';
import { jsonInputProblems } from '../codec/jsonInput.js';
import { commandContext, intFlag } from './context.js';
import { inputFraming } from './wireFraming.js';

/**
 * `streamserve produce [--file F] [--wire-format raw|confluent]`: JSON lines (one input object per line; stdin by
 * default) → Avro inputs on the input topic, keyed by id; with `confluent`, framed with the input schema's registry id
 * (registered under the topic's subject unless AUTO_REGISTER_SCHEMAS=false). A line with a field the schema does not
 * declare, a missing field or a value of the wrong JSON type is reported with its line number and the field, and not
 * sent.
 */
export async function produceCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, { file: { type: 'string' }, topic: { type: 'string' } });
  requireSettings(config, ['brokers'], 'produce');
  const topic = (flags.topic as string | undefined) ?? config.inputTopic;
  const type = await loadAvroSchema(config.inputSchema);
  const framing = await inputFraming(config, type, topic);
  const file = flags.file as string | undefined;
  const lines = createInterface({ input: file ? createReadStream(file) : process.stdin, crlfDelay: Infinity });
  const messages: InputMessage[] = [];
  let lineNo = 0;
  let bad = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      const obj = JSON.parse(line) as unknown;
      if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) (obj as Record<string, unknown>).event_time ??= Date.now();
      const problems = jsonInputProblems(type, obj);
      if (problems.length > 0) throw new Error(problems.join('; '));
      const record = obj as Record<string, unknown>;
      messages.push({ key: typeof record.id === 'string' ? record.id : null, value: framing.frame(type.toBuffer(record)) });
    } catch (err) {
      bad++;
      process.stderr.write(`line ${lineNo}: not a valid input: ${messageOf(err)}\n`);
    }
  }
  framing.close();
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
  const framing = await inputFraming(config, type, topic);
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
          return { key: id, value: framing.frame(type.toBuffer({ id, event_time: Date.now(), ...x })) };
        }),
      );
    }
  } finally {
    framing.close();
    await producer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`produced ${count} inputs to ${topic} in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)\n`);
  return 0;
}
