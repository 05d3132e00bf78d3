import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BIN, shippedNodeFlags } from '../../../src/cli/nodeFlags.js';
import { messageOf } from '../../../src/errors.js';
import { withTimeout } from '../../support/kafka.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /**
   * The exit code (or signal name) once the process exits within `timeoutMs`. Otherwise it is killed (SIGKILL, so a
   * hung process never outlives the test) and this rejects with the tail of its stderr, to show where it hung.
   */
  exitWithin(timeoutMs: number, what: string): Promise<number | string>;
}

/**
 * Runs `streamserve <args>` as its own process, the way an operator runs it (the shipped node flags included),
 * env on top of a minimal one.
 */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  return startNode([BIN, ...args], env);
}

/** Runs `node <shipped flags> <args>` from the repository root, env on top of a minimal one. */
export function startNode(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [...shippedNodeFlags(), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const exitWithin = async (timeoutMs: number, what: string) => {
    try {
      return await withTimeout(exited, timeoutMs, what);
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${messageOf(err)} (killed); stderr tail:\n${stderr.slice(-6000)}`);
    }
  };
  return { child, stderr: () => stderr, exited, exitWithin };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
