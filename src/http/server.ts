import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ErrorCodes, isStreamserveError } from '../errors.js';
import type { AvroType } from '../codec/schema.js';
import type { Signature } from '../model/signature.js';
import type { Scorer } from '../scorer/scorer.js';
import { TIMEOUT_HEADER, type InferenceContext } from './context.js';
import { HttpMetrics } from './httpMetrics.js';
import { jsonInputReader } from './jsonInput.js';
import { BINARY_REFUSED, registerOpenInference } from './openInference.js';
import { registerPredict } from './predict.js';
import { RequestQueue, ShedError, type RequestOptions } from './requestQueue.js';
import { BadRequest, sendError } from './replies.js';

export interface InferenceServerOptions {
  host: string;
  port: number;
  /** Required as `Authorization: Bearer <token>` on every route but the health checks, when set. */
  token?: string | undefined;
  maxQueue: number;
  timeoutMs: number;
  bodyLimitBytes: number;
  scorer: Pick<Scorer, 'submit' | 'healthy'>;
  signature: Signature;
  runtime: string;
  inputType: AvroType;
  registry: Registry;
  logger: Logger;
  /** Server name and version for `GET /v2`. */
  server: { name: string; version: string };
}

/** Routes a caller without the token may still reach: a load balancer's health checks. */
const OPEN_ROUTES = new Set(['/v2/health/live', '/v2/health/ready']);

/**
 * The inference port (separate from the admin port: callers and operators are different audiences): `POST /predict`
 * and the Open Inference Protocol v2, both through the shared scorer as urgent rows. fastify does the HTTP: routing,
 * JSON bodies with a size limit, keep-alive, and a close that waits for requests in flight.
 */
export class InferenceServer {
  readonly #o: InferenceServerOptions;
  readonly #app: FastifyInstance;
  readonly #queue: RequestQueue;
  readonly #log: Logger;
  #closing: Promise<void> | null = null;

  constructor(options: InferenceServerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'http' });
    this.#queue = new RequestQueue({ scorer: options.scorer, maxQueue: options.maxQueue, timeoutMs: options.timeoutMs });
    this.#app = Fastify({ bodyLimit: options.bodyLimitBytes, logger: false, return503OnClosing: true, forceCloseConnections: 'idle' });
    const metrics = new HttpMetrics(options.registry, () => this.#queue.waiting);
    const context: InferenceContext = {
      signature: options.signature,
      runtime: options.runtime,
      queue: this.#queue,
      reader: jsonInputReader(options.inputType, options.signature, { defaultId: (i, requestId) => `${requestId}-${i}` }),
      requestOptions,
      modelReady: () => options.scorer.healthy && this.#closing === null,
    };

    this.#app.addHook('onRequest', async (request, reply) => {
      if (this.#o.token !== undefined && !OPEN_ROUTES.has(request.url.split('?')[0]!) && !authorized(request, this.#o.token)) {
        return sendError(reply.header('www-authenticate', 'Bearer'), 401, ErrorCodes.UNAUTHORIZED, 'a bearer token is required (Authorization: Bearer <HTTP_TOKEN>)');
      }
      return undefined;
    });
    this.#app.addHook('onResponse', async (request, reply) => {
      metrics.request(request.routeOptions.url ?? 'unknown', reply.statusCode, reply.elapsedTime / 1000);
    });
    // Any other body: JSON without a content type (Triton's client sends none) is read as JSON; its binary data
    // extension (an Inference-Header-Content-Length header) is refused with a message that says what to send.
    this.#app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
      if (request.headers['inference-header-content-length'] !== undefined) return done(new BadRequest(BINARY_REFUSED), undefined);
      if (request.headers['content-type'] !== undefined) {
        return done(Object.assign(new BadRequest(`send JSON with Content-Type: application/json (got ${request.headers['content-type']})`), { statusCode: 415 }), undefined);
      }
      try {
        done(null, JSON.parse(body as string));
      } catch (err) {
        done(new BadRequest(`the body is not valid JSON: ${(err as Error).message}`), undefined);
      }
    });
    this.#app.setErrorHandler(async (err: unknown, _request, reply) => {
      if (err instanceof ShedError) {
        metrics.shed(err.reason);
        if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds));
        return sendError(reply, err.status, err.code, err.message);
      }
      if (err instanceof BadRequest) return sendError(reply, (err as { statusCode?: number }).statusCode ?? 400, ErrorCodes.BAD_REQUEST, err.message);
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        // fastify's own: a body that is not JSON, too large, an unsupported content type
        return sendError(reply, status, ErrorCodes.BAD_REQUEST, (err as Error).message);
      }
      this.#log.error({ err }, 'inference request failed');
      return sendError(reply, 500, isStreamserveError(err) ? err.code : ErrorCodes.INFERENCE_FAILED, 'internal error');
    });
    this.#app.setNotFoundHandler(async (request, reply) =>
      sendError(reply, 404, ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}: POST /predict, the Open Inference Protocol under /v2`),
    );
    registerPredict(this.#app, context);
    registerOpenInference(this.#app, context, options.server);
  }

  /** Listens; resolves with the bound port (useful with port 0). */
  async start(): Promise<number> {
    await this.#app.listen({ host: this.#o.host, port: this.#o.port });
    const port = (this.#app.server.address() as AddressInfo).port;
    this.#log.info({ url: `http://${this.#o.host}:${port}`, maxQueue: this.#o.maxQueue, timeoutMs: this.#o.timeoutMs }, 'inference server listening');
    return port;
  }

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.#queue.inFlight;
  }

  /**
   * Graceful stop: new requests get 503 (SHUTTING_DOWN), requests in flight are answered (the scorer must keep
   * running until this resolves), then the listener and idle connections close.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#queue.close();
      await this.#app.close();
    })();
    return this.#closing;
  }
}

function authorized(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * The caller's deadline header and the registration of what to do when the caller goes away before its answer (the
 * response closes unfinished). A deadline header that is not a whole number of milliseconds is a 400.
 */
function requestOptions(request: FastifyRequest, reply: FastifyReply): RequestOptions {
  const header = request.headers[TIMEOUT_HEADER];
  const cancelOn = (cancel: () => void) =>
    void reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) cancel();
    });
  if (header === undefined) return { cancelOn };
  if (typeof header !== 'string' || !/^[1-9]\d{0,8}$/.test(header)) throw new BadRequest(`${TIMEOUT_HEADER} must be a whole number of milliseconds (got ${String(header)})`);
  return { timeoutMs: Number(header), cancelOn };
}
