/**
 * The benchmark's own single-node broker: a free port pair, a temporary work directory, and a stop that runs once
 * whatever ends the run (normal end, error, SIGINT/SIGTERM). kafka-local.sh's watchdog (KAFKA_OWNER_PID) stops it
 * too if this process dies without stopping it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker, type LocalBroker, messageOf } from '../src/index.js';
import { withTimeout } from './util.js';

export interface BenchBroker {
  readonly brokers: string[];
  readonly port: number;
  readonly workDir: string;
  /** The broker JVM's pid (for pinning and CPU accounting). */
  pid(): number | null;
  /** Controlled stop, SIGKILL if that fails; removes the data. Idempotent, never throws. */
  cleanup(): Promise<void>;
}

export async function startBenchBroker(log: (line: string) => void): Promise<BenchBroker> {
  let lastError: unknown;
  for (let tries = 0; tries < 8; tries++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 6_000);
    if (!(await canBind(port)) || !(await canBind(port + 1))) continue;
    const workDir = mkdtempSync(join(tmpdir(), `streamserve-bench-kafka-${port}-`));
    let broker: LocalBroker;
    try {
      broker = await startLocalBroker({ port, workDir, log });
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      lastError = err;
      log(`broker on ${port} did not start: ${messageOf(err)}`);
      continue;
    }
    let done: Promise<void> | undefined;
    return {
      brokers: broker.brokers,
      port,
      workDir,
      pid: () => {
        try {
          return Number(readFileSync(join(workDir, 'kafka.pid'), 'utf8').trim()) || null;
        } catch {
          return null;
        }
      },
      cleanup: () =>
        (done ??= withTimeout(broker.stop(), 60_000, 'broker stop')
          .catch(() => withTimeout(broker.kill(), 30_000, 'broker kill'))
          .catch((err: unknown) => log(`broker on ${port} did not stop: ${messageOf(err)}`))
          .finally(() => rmSync(workDir, { recursive: true, force: true }))),
    };
  }
  throw lastError ?? new Error('no free port pair for the benchmark broker');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
