import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { redactText } from '../redact.js';

export interface Readiness {
  ready: boolean;
  /** Each check by name; all must be true to be ready. */
  checks: Record<string, boolean>;
}

/** What the admin server reads; the composition root implements it. */
export interface AdminSource {
  readiness(): Readiness;
  status(): unknown;
  registry: Registry;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  source: AdminSource;
  logger: Logger;
}

/**
 * GET /healthz (process alive), /readyz (200 only when every readiness check passes, else 503 with the
 * failing checks), /status (JSON), /metrics (Prometheus text).
 */
export class AdminServer {
  readonly #o: AdminServerOptions;
  readonly #server: Server;
  readonly #log: Logger;
  #closing: Promise<void> | null = null;

  constructor(options: AdminServerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'admin' });
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#log.error({ err, url: req.url }, 'admin request failed');
        if (!res.headersSent) send(res, 500, { error: 'internal error' });
        else res.end();
      });
    });
    this.#server.keepAliveTimeout = 1000;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const port = (this.#server.address() as AddressInfo).port;
    this.#log.info({ url: `http://${this.#o.host}:${port}` }, 'admin server listening');
    return port;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    switch (path) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        const r = this.#o.source.readiness();
        return send(res, r.ready ? 200 : 503, r);
      }
      case '/status':
        return send(res, 200, this.#o.source.status());
      case '/metrics': {
        const body = await this.#o.source.registry.metrics();
        res.writeHead(200, { 'content-type': this.#o.source.registry.contentType });
        res.end(redactText(body));
        return;
      }
      default:
        return send(res, 404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/status', '/metrics'] });
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

/** Every admin answer (status, readiness, errors) as JSON, with any credential it might quote redacted (src/redact.ts). */
function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(redactText(JSON.stringify(body)));
}
