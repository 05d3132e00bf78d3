import avro from 'avsc';
import type { Logger } from 'pino';
import type { AvroResolver, AvroType } from './schema.js';
import { readAvro, type InputDecoder } from './inputDecoder.js';
import { BoundedCache } from './boundedCache.js';
import { decodeFrame } from './confluentFrame.js';
import { RetryingHealth, type DependencyHealth } from '../dependencyHealth.js';
import { ErrorCodes, RecordError, isFatal, messageOf } from '../errors.js';
import type { InputFields } from '../scorer/outcome.js';

/** Where writer schemas come from: a Schema Registry (src/registry/), or a stub. */
export interface WriterSchemaSource {
  /**
   * The schema registered under a global id, or null when the registry does not know the id. Rejects when the
   * registry cannot answer (unreachable, timed out, 5xx): that is not the record's fault.
   */
  writerSchema(id: number): Promise<{ schema: string; schemaType: string } | null>;
}

export interface ConfluentDecoderOptions {
  /** The reader schema (schemas/…avsc): what the scorer sees, whatever the producer wrote with. */
  reader: AvroType;
  source: WriterSchemaSource;
  /** Schema ids remembered at most (SCHEMA_CACHE_SIZE). */
  cacheSize: number;
  logger: Logger;
  /** The readiness check's name while the source is away. */
  healthName?: string;
  /** How long an id the registry did not know is remembered as unknown (it may be registered later). */
  unknownIdTtlMs?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
}

/** What an id resolves to: a resolver (none when the writer schema is the reader's), or the records' error. */
type Entry = { resolver: AvroResolver | undefined } | { error: RecordError; until: number };

/**
 * Confluent wire format (`WIRE_FORMAT=confluent`): a magic byte 0, a 4-byte big-endian schema id, then Avro binary
 * written with the producer's schema. The writer schema is fetched by id once (one lookup in flight per id, at most
 * `cacheSize` ids kept) and resolved to the reader schema, so every compatible evolution decodes: fields added with
 * defaults, removed, reordered, promoted types. A record whose framing, id or writer schema is wrong is a RecordError
 * naming its schema id. A registry that does not answer rejects the decode (not poison): `health` turns false, the
 * lookup is retried with backoff, and `health` turns true once it is answered. A registry that refuses us (a fatal
 * error, src/errors.ts `isFatal`: 401, 403) rejects the decode with that error, and `health` is left as it is: it
 * answered, and the input stops the process on it.
 */
export class ConfluentDecoder implements InputDecoder {
  readonly #o: ConfluentDecoderOptions;
  readonly #cache: BoundedCache<number, Entry | Promise<Entry>>;
  readonly #health: RetryingHealth;
  readonly #now: () => number;
  /** The id of the last record decoded without error, and its resolver: a stream mostly repeats one id. */
  #lastId = -1;
  #lastResolver: AvroResolver | undefined;

  constructor(options: ConfluentDecoderOptions) {
    this.#o = options;
    this.#cache = new BoundedCache(options.cacheSize);
    this.#now = options.now ?? Date.now;
    this.#health = new RetryingHealth({
      name: options.healthName ?? 'schemaRegistryReachable',
      logger: options.logger,
      ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
      ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
    });
  }

  get health(): DependencyHealth {
    return this.#health;
  }

  decode(value: Buffer | null): InputFields | Promise<InputFields> {
    const id = decodeFrame(value);
    if (id === this.#lastId) return readAvro(this.#o.reader, value!, 5, this.#lastResolver, id);
    let entry = this.#cache.get(id);
    if (entry !== undefined && !(entry instanceof Promise) && 'until' in entry && entry.until <= this.#now()) {
      this.#cache.delete(id, entry);
      entry = undefined;
    }
    entry ??= this.#load(id);
    return entry instanceof Promise ? entry.then((e) => this.#read(e, id, value!)) : this.#read(entry, id, value!);
  }

  close(): void {
    this.#health.close();
  }

  #read(entry: Entry, id: number, value: Buffer): InputFields {
    if ('error' in entry) throw entry.error;
    const fields = readAvro(this.#o.reader, value, 5, entry.resolver, id);
    this.#lastId = id;
    this.#lastResolver = entry.resolver;
    return fields;
  }

  /** Looks the id up once; concurrent records of the same id wait for the same lookup. */
  #load(id: number): Promise<Entry> {
    const loading: Promise<Entry> = this.#o.source.writerSchema(id).then(
      (found) => {
        const entry = found === null ? unknownId(id, this.#now() + (this.#o.unknownIdTtlMs ?? 30_000)) : this.#resolve(id, found);
        this.#cache.set(id, entry);
        this.#health.succeeded();
        return entry;
      },
      (err: unknown) => {
        this.#cache.delete(id, loading);
        // A refusal (401, 403) is no outage: the registry answered. It stops the process (the input reports it).
        if (!isFatal(err)) this.#health.failed(err, () => this.#load(id));
        throw err;
      },
    );
    this.#cache.set(id, loading);
    return loading;
  }

  #resolve(id: number, found: { schema: string; schemaType: string }): Entry {
    const fail = (message: string): Entry => ({
      error: new RecordError('decode', ErrorCodes.INCOMPATIBLE_SCHEMA, `schema id ${id}: ${message}`, { schemaId: id }),
      until: Number.POSITIVE_INFINITY, // a schema id never changes its schema
    });
    if (found.schemaType.toUpperCase() !== 'AVRO') return fail(`a ${found.schemaType} schema, not Avro`);
    let writer: AvroType;
    try {
      writer = avro.Type.forSchema(JSON.parse(found.schema) as avro.Schema);
    } catch (err) {
      return fail(`not a valid Avro schema: ${messageOf(err)}`);
    }
    if (writer.equals(this.#o.reader)) return { resolver: undefined };
    try {
      return { resolver: this.#o.reader.createResolver(writer, { ignoreNamespaces: true }) };
    } catch (err) {
      return fail(`cannot be read as ${this.#o.reader.name ?? 'the reader schema'}: ${messageOf(err)}`);
    }
  }
}

function unknownId(id: number, until: number): Entry {
  return { error: new RecordError('decode', ErrorCodes.UNKNOWN_SCHEMA_ID, `schema id ${id} is not known to the Schema Registry`, { schemaId: id }), until };
}
