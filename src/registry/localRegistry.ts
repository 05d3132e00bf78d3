/**
 * Apicurio Registry on this machine, started by `scripts/registry-local/registry-local.sh` from Maven Central — for
 * `demo --wire-format confluent` and for tests when SCHEMA_REGISTRY_URL is not set. Needs Java 17+, and Maven once.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, StreamserveError } from '../errors.js';

export interface LocalRegistryOptions {
  port?: number;
  /** Holds the pid file and the log. Default: scripts/registry-local/.registry-<port>. */
  workDir?: string;
  /** Global compatibility set at start (FULL by default; Apicurio's own default is NONE). */
  compatibility?: string;
  log?: (line: string) => void;
}

export interface LocalRegistry {
  /** Base URL of the Confluent-compatible API, for SCHEMA_REGISTRY_URL. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** SIGSTOP: the registry accepts connections and answers nothing (an outage that forgets nothing). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops it (SIGTERM, SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../../scripts/registry-local/registry-local.sh', import.meta.url));
const HOST = '127.0.0.1';
const PREREQUISITES = 'the local Schema Registry (Apicurio) needs Java 17+ and, once, Maven (mvn) to download it';

export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const port = options.port ?? 8081;
  const workDir = options.workDir ?? join(fileURLToPath(new URL('../../scripts/registry-local/', import.meta.url)), `.registry-${port}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REGISTRY_PORT: String(port),
    REGISTRY_WORK_DIR: workDir,
    REGISTRY_OWNER_PID: String(process.pid),
    ...(options.compatibility ? { REGISTRY_COMPATIBILITY: options.compatibility } : {}),
  };
  const log = options.log ?? (() => {});
  const run = (command: string) => runScript(command, env, log);
  const setup = await run('setup');
  if (setup.code !== 0) throw registryError(`could not prepare the local Schema Registry (exit ${setup.code}): ${setup.tail}; ${PREREQUISITES}`);
  const started = await run('start');
  if (started.code !== 0) throw registryError(`the local Schema Registry on port ${port} did not start (exit ${started.code}): ${started.tail}`);
  const pid = Number(readFileSync(join(workDir, 'registry.pid'), 'utf8').trim());
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${HOST}:${port}/apis/ccompat/v7`,
    port,
    pid,
    pause: () => process.kill(pid, 'SIGSTOP'),
    resume: () => process.kill(pid, 'SIGCONT'),
    stop: () =>
      (stopping ??= run('stop').then((r) => {
        if (r.code !== 0) throw registryError(`registry-local.sh stop failed: ${r.tail}`);
      })),
  };
}

function runScript(command: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<{ code: number; tail: string }> {
  if (!existsSync(SCRIPT)) return Promise.reject(registryError(`registry-local.sh not found at ${SCRIPT}`));
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > 40) lines.shift();
        log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => reject(registryError(`could not run registry-local.sh (bash): ${err.message}`, err)));
    child.once('close', (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), tail: lines.slice(-12).join('\n') || '(no output)' }));
  });
}

function registryError(message: string, cause?: unknown): StreamserveError {
  return new StreamserveError(ErrorCodes.REGISTRY_UNAVAILABLE, message, { cause });
}
