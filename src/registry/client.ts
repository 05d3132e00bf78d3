import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { ErrorCodes, StreamserveError, messageOf, type ErrorCode } from '../errors.js';
import { redactUrl } from '../redact.js';

export interface RegistryClientOptions {
  /**
   * Base URLs of one registry (its Confluent-compatible API root; a query, e.g. a gateway's key, is kept on every
   * request); tried in turn when one does not answer.
   */
  urls: readonly string[];
  username?: string | undefined;
  password?: string | undefined;
  /** PEM file of the CA(s) to trust for https URLs. */
  caFile?: string | undefined;
  /** Longest one request to one URL may take, connection included. */
  timeoutMs: number;
}

/** A registered schema as the registry returns it. */
export interface RegisteredSchema {
  id: number;
  /** The schema text (Avro: JSON). */
  schema: string;
  /** AVRO when absent (the Confluent API leaves it out for Avro). */
  schemaType: string;
  subject?: string;
  version?: number;
}

/**
 * A request the registry did not answer with success. `status` is null when no URL answered at all (refused,
 * reset, timed out). Three kinds:
 *
 * - a refusal of our credentials or of access (401, 403): fatal, `AUTHENTICATION_FAILED` / `AUTHORIZATION_FAILED`
 *   naming the registry (`refused`). No retry can fix it, an operator must; the process stops as on a Kafka ACL
 *   refusal (src/errors.ts `isFatal`);
 * - an answer about the request itself (any other 4xx but 408 and 429: not found, incompatible, invalid;
 *   `rejected`), not retryable;
 * - the rest (no answer, a timeout, 408, 429, a 5xx): `REGISTRY_UNAVAILABLE`, the registry being unavailable,
 *   retried by the caller.
 */
export class RegistryError extends StreamserveError {
  readonly status: number | null;
  /** The Confluent error code of the answer's body (e.g. 40403 schema not found), when it had one. */
  readonly registryCode: number | undefined;

  constructor(message: string, status: number | null, registryCode?: number, cause?: unknown) {
    super(codeOf(status), message, { retryable: !isRejection(status) && !isRefusal(status), cause });
    this.name = 'RegistryError';
    this.status = status;
    this.registryCode = registryCode;
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  /** The registry answered, and refused this request (not found, incompatible, invalid): retrying will not help. */
  get rejected(): boolean {
    return isRejection(this.status);
  }

  /** The registry refused our credentials (401) or access (403): fatal. */
  get refused(): boolean {
    return isRefusal(this.status);
  }
}

function isRefusal(status: number | null): status is 401 | 403 {
  return status === 401 || status === 403;
}

function isRejection(status: number | null): boolean {
  return status !== null && status >= 400 && status < 500 && !isRefusal(status) && ![408, 429].includes(status);
}

function codeOf(status: number | null): ErrorCode {
  if (status === 401) return ErrorCodes.AUTHENTICATION_FAILED;
  if (status === 403) return ErrorCodes.AUTHORIZATION_FAILED;
  return ErrorCodes.REGISTRY_UNAVAILABLE;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * A small client of the Confluent Schema Registry REST API (also served by Apicurio's `/apis/ccompat/v7` and
 * Redpanda): the few calls streamserve makes, each under one timeout, with no retries of its own (the caller decides
 * what a failure means: a 404 is a record's problem, anything unanswered is the registry's).
 */
export class RegistryClient {
  readonly #urls: string[];
  readonly #auth: string | undefined;
  readonly #timeoutMs: number;
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  readonly #https: HttpsAgent;
  /** The URL that answered last: tried first. */
  #preferred = 0;
  /** Requests made, for the benchmark's count of registry calls. */
  requests = 0;

  constructor(options: RegistryClientOptions) {
    this.#urls = options.urls.map((u) => u.replace(/\/+(?=\?|$)/, ''));
    if (this.#urls.length === 0) throw new StreamserveError(ErrorCodes.CONFIG_INVALID, 'a Schema Registry client needs at least one URL');
    this.#auth = options.username === undefined ? undefined : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    this.#timeoutMs = options.timeoutMs;
    let ca: Buffer | undefined;
    if (options.caFile !== undefined) {
      try {
        ca = readFileSync(options.caFile);
      } catch (cause) {
        throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `cannot read the Schema Registry CA file ${options.caFile}: ${messageOf(cause)}`, { cause });
      }
    }
    this.#https = new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(ca ? { ca } : {}) });
  }

  /** GET /schemas/ids/{id}: the schema registered under a global id. */
  async schemaById(id: number): Promise<RegisteredSchema> {
    const body = await this.#call<{ schema: string; schemaType?: string }>('GET', `/schemas/ids/${id}`);
    return { id, schema: body.schema, schemaType: body.schemaType ?? 'AVRO' };
  }

  /** GET /subjects/{subject}/versions/latest. */
  async latest(subject: string): Promise<RegisteredSchema> {
    const body = await this.#call<{ id: number; version: number; schema: string; schemaType?: string }>('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`);
    return { id: body.id, version: body.version, subject, schema: body.schema, schemaType: body.schemaType ?? 'AVRO' };
  }

  /** POST /subjects/{subject}/versions: registers (or finds) the schema; its id. A 409 means incompatible. */
  async register(subject: string, schema: string): Promise<number> {
    const body = await this.#call<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema, schemaType: 'AVRO' });
    return body.id;
  }

  /** POST /subjects/{subject}: the id of a schema already registered under the subject (404 when it is not). */
  async lookup(subject: string, schema: string): Promise<number> {
    const body = await this.#call<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}`, { schema, schemaType: 'AVRO' });
    return body.id;
  }

  /** PUT /config[/{subject}]: the compatibility level (tests and the local registry). */
  async setCompatibility(level: string, subject?: string): Promise<void> {
    await this.#call('PUT', subject === undefined ? '/config' : `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }

  /** One request, to each URL in turn until one answers (any status but 5xx); throws RegistryError otherwise. */
  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let last: RegistryError | undefined;
    for (let n = 0; n < this.#urls.length; n++) {
      const index = (this.#preferred + n) % this.#urls.length;
      const url = this.#urls[index]!;
      try {
        const result = await this.#send<T>(method, url, path, payload);
        this.#preferred = index;
        return result;
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        // An answer: another URL of the same registry says the same. A 401 is fatal because the credentials are
        // static (basic auth, or none): the same ones get the same answer. Once bearer tokens exist, a 401 here
        // refreshes the token and sends this request once more; only a second 401 is fatal.
        if (err.status !== null && err.status < 500) throw err;
        last = err;
      }
    }
    throw last!;
  }

  #send<T>(method: string, base: string, path: string, payload: string | undefined): Promise<T> {
    this.requests++;
    // A base URL's query (a gateway's `?api_key=…`) goes on every request, after the request's own path.
    const query = base.indexOf('?');
    const target = new URL(query < 0 ? base + path : base.slice(0, query) + path + base.slice(query));
    const secure = target.protocol === 'https:';
    const headers: Record<string, string> = { Accept: `${CONTENT_TYPE}, application/json` };
    if (payload !== undefined) {
      headers['Content-Type'] = CONTENT_TYPE;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    if (this.#auth) headers.Authorization = this.#auth;
    const what = `${method} ${redactUrl(`${target.origin}${target.pathname}`)}`;
    return new Promise<T>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(target, { method, headers, agent: secure ? this.#https : this.#http });
      const timer = setTimeout(() => req.destroy(new RegistryError(`${what}: no answer within ${this.#timeoutMs} ms`, null)), this.#timeoutMs);
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof RegistryError ? err : new RegistryError(`${what}: ${messageOf(err)}`, null, undefined, err));
      });
      req.once('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.once('error', () => {}); // the request's error (timeout, reset) rejects
        res.once('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text === '' ? {} : JSON.parse(text);
          } catch {
            json = undefined;
          }
          if (status >= 200 && status < 300 && json !== undefined) return resolve(json as T);
          const detail = json as { message?: unknown; error_code?: unknown } | undefined;
          const message = typeof detail?.message === 'string' ? detail.message : text.slice(0, 200);
          const code = typeof detail?.error_code === 'number' ? detail.error_code : undefined;
          const answer = `HTTP ${status}${message ? `: ${message}` : ''}`;
          if (isRefusal(status)) return reject(new RegistryError(refusal(status, base, `${method} ${target.pathname}`, answer), status, code));
          reject(new RegistryError(`${what}: ${answer}`, status >= 200 && status < 300 ? 502 : status, code));
        });
      });
      req.end(payload);
    });
  }
}

/** The message of a 401 or 403: the registry named by its URL (redacted), the request, what to do. */
function refusal(status: 401 | 403, base: string, request: string, answer: string): string {
  const registry = `the Schema Registry at ${redactUrl(base)}`;
  return status === 401
    ? `${registry} refused our credentials (${answer}) for ${request}: check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`
    : `${registry} refused access (${answer}) for ${request}: grant the credentials read access to schemas (and write to the output subject when registering)`;
}
