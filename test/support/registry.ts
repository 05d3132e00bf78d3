/**
 * Where tests get a real Schema Registry (docs/ARCHITECTURE.md, "Seams for tests"): `SCHEMA_REGISTRY_URL` if set; else Apicurio Registry from
 * Maven Central, started by scripts/registry-local (Java 17 + Maven) on a free port, with FULL compatibility.
 * A test that makes the registry hang (SIGSTOP) needs a process of its own: `startOwnRegistry()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRegistry, type LocalRegistry } from '../../src/registry/localRegistry.js';
import { messageOf } from '../../src/errors.js';

export interface TestRegistry {
  url: string;
  source: 'env' | 'local';
  /** Idempotent; a no-op for `env`. */
  stop(): Promise<void>;
}

const LOCAL_PORTS = [38081, 38181, 38281, 38381, 38481, 38581];

export async function resolveTestRegistry(log: (line: string) => void = stderrLog): Promise<TestRegistry> {
  const fromEnv = process.env.SCHEMA_REGISTRY_URL?.trim();
  if (fromEnv) return { url: fromEnv, source: 'env', stop: async () => {} };
  const registry = await startOwnRegistry(log);
  return { url: registry.url, source: 'local', stop: registry.stop };
}

/** A local Apicurio Registry this test owns (pause/resume work on it), on the first free port; stopped by `stop()`. */
export async function startOwnRegistry(log: (line: string) => void = stderrLog): Promise<LocalRegistry> {
  let lastError: unknown;
  for (const port of LOCAL_PORTS) {
    if (!(await canBind(port))) continue;
    const workDir = mkdtempSync(join(tmpdir(), `streamserve-registry-${port}-`));
    try {
      const registry = await startLocalRegistry({ port, workDir, log: (line) => log(`registry-local: ${line}`) });
      const stop = registry.stop;
      let stopped: Promise<void> | undefined;
      return {
        ...registry,
        pause: registry.pause,
        resume: registry.resume,
        stop: () => (stopped ??= stop().finally(() => rmSync(workDir, { recursive: true, force: true }))),
      };
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      lastError = err;
      if (!/already in use/.test(messageOf(err))) throw err;
    }
  }
  throw lastError ?? new Error(`no free port for a local Schema Registry among ${LOCAL_PORTS.join(', ')}`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function stderrLog(line: string): void {
  process.stderr.write(`[test-registry] ${line}\n`);
}
