import { readFile } from 'node:fs/promises';
import avro from 'avsc';
import type { Logger } from 'pino';
import type { Config } from '../config/settings.js';
import type { AvroType } from '../codec/schema.js';
import { resolutionProblems } from '../codec/compatibility.js';
import { ConfluentDecoder, type WriterSchemaSource } from '../codec/confluentDecoder.js';
import { confluentPredictionEncoder } from '../codec/confluentEncoder.js';
import type { PredictionEncoder } from '../codec/predictionEncoder.js';
import type { Signature } from '../model/signature.js';
import { ErrorCodes, StreamserveError, isFatal, messageOf } from '../errors.js';
import { RegistryClient, RegistryError, type RegisteredSchema } from './client.js';
import { valueSubject } from './subjects.js';

/** The registry client of the configuration (SCHEMA_REGISTRY_URL and its credentials). */
export function registryClient(config: Config): RegistryClient {
  if (config.schemaRegistryUrl === undefined) {
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, 'invalid configuration: schemaRegistryUrl (SCHEMA_REGISTRY_URL): needed by the confluent wire format');
  }
  return new RegistryClient({
    urls: config.schemaRegistryUrl,
    username: config.schemaRegistryUsername,
    password: config.schemaRegistryPassword,
    caFile: config.schemaRegistryCaFile,
    timeoutMs: config.schemaRegistryTimeoutMs,
  });
}

/** Writer schemas by id from the registry: a 404 is an unknown id (the record's problem), anything else the registry's. */
export function registryWriterSchemas(client: RegistryClient): WriterSchemaSource {
  return {
    writerSchema: (id) =>
      client.schemaById(id).then(
        (found) => found,
        (err: unknown) => {
          if (err instanceof RegistryError && err.notFound) return null;
          throw err;
        },
      ),
  };
}

export interface ConfluentInputOptions {
  client: RegistryClient;
  config: Config;
  reader: AvroType;
  signature: Signature;
  logger: Logger;
}

/**
 * The decoder of `WIRE_FORMAT=confluent`, after the startup preflight: the latest schema of the input subject must
 * resolve to the reader schema with every field the signature reads (SCHEMA_INVALID naming the fields and types if
 * not). A subject with no schema yet is only a warning (each record is checked as it comes).
 */
export async function confluentInputDecoder(options: ConfluentInputOptions): Promise<ConfluentDecoder> {
  const { client, config, reader, signature, logger } = options;
  const subject = valueSubject(config.subjectNameStrategy, config.inputTopic, reader.name ?? '');
  let latest: RegisteredSchema | null = null;
  try {
    latest = await client.latest(subject);
  } catch (err) {
    if (!(err instanceof RegistryError && err.notFound)) throw registryFailure(`cannot read the latest schema of the input subject ${subject}`, err);
    logger.warn({ subject }, 'no schema registered under the input subject yet; each record is checked against the reader schema as it comes');
  }
  if (latest) {
    const needed = [signature.idField, signature.eventTimeField, ...signature.inputs.map((c) => c.field)];
    let problems: string[];
    try {
      if (latest.schemaType.toUpperCase() !== 'AVRO') throw new Error(`a ${latest.schemaType} schema, not Avro`);
      problems = resolutionProblems(reader, avro.Type.forSchema(JSON.parse(latest.schema) as avro.Schema), needed);
    } catch (err) {
      problems = [`not a usable Avro schema: ${messageOf(err)}`];
    }
    if (problems.length > 0) {
      throw new StreamserveError(
        ErrorCodes.SCHEMA_INVALID,
        `the latest schema of input subject ${subject} (id ${latest.id}, version ${latest.version}) cannot be read as ${config.inputSchema}: ${problems.join('; ')}`,
      );
    }
    logger.info({ subject, id: latest.id, version: latest.version }, 'the input subject\'s latest schema resolves to the reader schema');
  }
  return new ConfluentDecoder({
    reader,
    source: registryWriterSchemas(client),
    cacheSize: config.schemaCacheSize,
    logger: logger.child({ component: 'schema-registry' }),
  });
}

export interface ConfluentOutputOptions {
  client: RegistryClient;
  config: Config;
  type: AvroType;
  /** Encodes the Avro body (src/codec/predictionEncoder.ts). */
  inner: PredictionEncoder;
  logger: Logger;
}

/**
 * The encoder of `OUTPUT_WIRE_FORMAT=confluent`: the output schema registered under the output subject at startup
 * (or, with AUTO_REGISTER_SCHEMAS=false, only looked up there), and its id framing every prediction.
 */
export async function confluentOutputEncoder(options: ConfluentOutputOptions): Promise<PredictionEncoder> {
  const { client, config, type, inner, logger } = options;
  const subject = valueSubject(config.subjectNameStrategy, config.outputTopic, type.name ?? '');
  const id = await schemaIdUnder(client, config, subject, config.outputSchema, 'output schema');
  logger.info({ subject, id, registered: config.autoRegisterSchemas }, 'predictions are framed with the output schema\'s registry id');
  return confluentPredictionEncoder(inner, id);
}

/**
 * The registry id of the schema in file `path` under `subject`: registered there (AUTO_REGISTER_SCHEMAS, the
 * Confluent serializers' default) or only looked up. SCHEMA_INVALID when the registry refuses it (incompatible,
 * invalid, not registered), REGISTRY_UNAVAILABLE when it does not answer, AUTHENTICATION_FAILED / AUTHORIZATION_FAILED
 * when it refuses our credentials or access.
 */
export async function schemaIdUnder(client: RegistryClient, config: Config, subject: string, path: string, what: string): Promise<number> {
  // What the file says, compacted (docs kept): a lookup finds the schema someone registered from the same file.
  const schema = JSON.stringify(JSON.parse(await readFile(path, 'utf8')));
  try {
    return config.autoRegisterSchemas ? await client.register(subject, schema) : await client.lookup(subject, schema);
  } catch (err) {
    if (err instanceof RegistryError && err.rejected) {
      const why = config.autoRegisterSchemas
        ? `the registry refused to register it (HTTP ${err.status}: incompatible with the subject's compatibility setting, or invalid)`
        : `it is not registered there, and AUTO_REGISTER_SCHEMAS=false (HTTP ${err.status})`;
      throw new StreamserveError(ErrorCodes.SCHEMA_INVALID, `${what} ${path} under subject ${subject}: ${why}: ${err.message}`, { cause: err });
    }
    throw registryFailure(`cannot ${config.autoRegisterSchemas ? 'register' : 'look up'} the ${what} under ${subject}`, err);
  }
}

/** REGISTRY_UNAVAILABLE for `what`, or the refusal (401, 403) it was, keeping its fatal code. */
function registryFailure(what: string, err: unknown): StreamserveError {
  if (isFatal(err)) return new StreamserveError(err.code, `${what}: ${err.message}`, { cause: err });
  return new StreamserveError(ErrorCodes.REGISTRY_UNAVAILABLE, `${what}: ${messageOf(err)}`, { cause: err, retryable: true });
}
