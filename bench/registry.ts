/**
 * The benchmark's own Schema Registry (Apicurio from Maven Central, like its broker) behind a counting proxy: every
 * request streamserve makes passes through it, so the registry calls of a drain are counted from outside.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRegistry, type LocalRegistry } from '../src/index.js';

export interface BenchRegistry {
  /** The proxy's URL of the Confluent-compatible API (what streamserve is given). */
  url: string;
  /** Requests through the proxy since the last reset, by `METHOD /path-pattern` (ids and subjects as `{…}`). */
  calls(): Record<string, number>;
  reset(): void;
  stop(): Promise<void>;
}

const PORTS = [38781, 38881, 38981];

export async function startBenchRegistry(log: (line: string) => void): Promise<BenchRegistry> {
  let registry: LocalRegistry | null = null;
  let workDir = '';
  for (const port of PORTS) {
    if (!(await canBind(port))) continue;
    workDir = mkdtempSync(join(tmpdir(), `bench-registry-${port}-`));
    registry = await startLocalRegistry({ port, workDir, log });
    break;
  }
  if (!registry) throw new Error(`no free port for the benchmark's registry among ${PORTS.join(', ')}`);
  const target = new URL(registry.url);
  const counts = new Map<string, number>();
  const proxy: Server = createServer((req, res) => {
    const path = (req.url ?? '').replace(/\/schemas\/ids\/\d+/, '/schemas/ids/{id}').replace(/\/subjects\/[^/]+/, '/subjects/{subject}');
    const key = `${req.method} ${path.replace(target.pathname, '')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  const own = registry;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    calls: () => Object.fromEntries(counts),
    reset: () => counts.clear(),
    stop: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await own.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
