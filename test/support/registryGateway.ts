/**
 * An auth gateway in front of a real Schema Registry, for tests: an HTTP reverse proxy that forwards every request to
 * the registry unchanged until `refuse(401 | 403)` is called, and from then on answers each one itself with that
 * status, as a gateway (or a registry with authentication) refusing the credentials or the access would. Records and
 * schemas still come from the real registry; only the refusal is the gateway's. It keeps the path of every request,
 * forwarded or refused, so a test can show which lookups came after the switch.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RegistryGateway {
  /** The gateway's base URL: the registry's, with the gateway's host and port. */
  url: string;
  /** From now on every request is answered with `status` (null: forwarded again). */
  refuse(status: 401 | 403 | null): void;
  /** Paths (method and path) forwarded to the registry, in order. */
  readonly forwarded: readonly string[];
  /** Paths answered with a refusal, in order. */
  readonly refused: readonly string[];
  /** Idempotent. */
  close(): Promise<void>;
}

/** Starts a gateway on a free port of 127.0.0.1 in front of the registry at `registryUrl`. */
export async function startRegistryGateway(registryUrl: string): Promise<RegistryGateway> {
  const target = new URL(registryUrl);
  const forwarded: string[] = [];
  const refused: string[] = [];
  let refusing: 401 | 403 | null = null;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const what = `${req.method} ${req.url}`;
    if (refusing !== null) {
      refused.push(what);
      req.resume();
      const body = JSON.stringify(
        refusing === 401 ? { error_code: 40101, message: 'Unauthorized: the gateway refuses these credentials' } : { error_code: 40301, message: 'Forbidden: the gateway refuses this principal' },
      );
      res.writeHead(refusing, { 'content-type': 'application/vnd.schemaregistry.v1+json', ...(refusing === 401 ? { 'www-authenticate': 'Basic realm="registry"' } : {}) });
      res.end(body);
      return;
    }
    forwarded.push(what);
    const { host: _host, authorization: _authorization, ...headers } = req.headers;
    const upstream = request(
      { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.once('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: 50201, message: `gateway: ${err.message}` }));
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/+$/, '')}`,
    refuse: (status) => void (refusing = status),
    forwarded,
    refused,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}
