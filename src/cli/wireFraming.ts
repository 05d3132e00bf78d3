import avro from 'avsc';
import type { Config } from '../config/settings.js';
import type { AvroType } from '../codec/schema.js';
import { decodeFrame, frameHeader } from '../codec/confluentFrame.js';
import { RegistryError } from '../registry/client.js';
import { registryClient, schemaIdUnder } from '../registry/confluent.js';
import { valueSubject } from '../registry/subjects.js';
import { messageOf } from '../errors.js';
import { requireSettings } from '../config/load.js';

/** How `produce` and `generate` frame what they write: bare Avro, or the input schema's registry id first. */
export interface InputFraming {
  frame(body: Buffer): Buffer;
  close(): void;
}

/**
 * The framing of `config.wireFormat` for values of `type` on `topic`. Confluent: the input schema is registered
 * under the topic's subject (or only looked up, AUTO_REGISTER_SCHEMAS=false), as Confluent's serializers do.
 */
export async function inputFraming(config: Config, type: AvroType, topic: string): Promise<InputFraming> {
  if (config.wireFormat === 'raw') return { frame: (body) => body, close: () => {} };
  requireSettings(config, ['schemaRegistryUrl'], '--wire-format confluent');
  const client = registryClient(config);
  try {
    const id = await schemaIdUnder(client, config, valueSubject(config.subjectNameStrategy, topic, type.name ?? ''), config.inputSchema, 'input schema');
    const header = frameHeader(id);
    return { frame: (body) => Buffer.concat([header, body]), close: () => client.close() };
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Reads values as `consume` prints them: bare Avro with a known schema, or framed and read with its writer schema. */
export interface ValueReader {
  /** The decoded value, or why it could not be decoded (with the schema id when it had one). */
  read(value: Buffer): Promise<{ value: unknown; schemaId?: number } | { error: string; schemaId?: number }>;
  close(): void;
}

export function valueReader(format: Config['wireFormat'], config: Config, rawType: AvroType): ValueReader {
  if (format === 'raw') {
    return {
      read: async (value) => {
        try {
          return { value: rawType.fromBuffer(value) };
        } catch (err) {
          const hint = value[0] === 0 && value.length > 5 ? ' (framed with a schema id? try --wire-format confluent)' : '';
          return { error: `${messageOf(err)}${hint}` };
        }
      },
      close: () => {},
    };
  }
  requireSettings(config, ['schemaRegistryUrl'], '--wire-format confluent');
  const client = registryClient(config);
  const types = new Map<number, Promise<AvroType>>();
  return {
    read: async (value) => {
      let id: number;
      try {
        id = decodeFrame(value);
      } catch (err) {
        return { error: messageOf(err) };
      }
      let type = types.get(id);
      if (!type) {
        type = client.schemaById(id).then((s) => avro.Type.forSchema(JSON.parse(s.schema) as avro.Schema));
        types.set(id, type);
      }
      try {
        return { value: (await type).fromBuffer(value.subarray(5)), schemaId: id };
      } catch (err) {
        if (err instanceof RegistryError && !err.notFound) throw err; // the registry is away: say so, do not guess
        return { error: messageOf(err), schemaId: id };
      }
    },
    close: () => client.close(),
  };
}
