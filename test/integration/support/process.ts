import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BIN, shippedNodeFlags } from '../../../src/cli/nodeFlags.js';

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
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const exitWithin = async (timeoutMs: number, what: string) => {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), timeoutMs)));
    const outcome = await Promise.race([exited, hung]).finally(() => clearTimeout(timer));
    if (outcome !== 'hung') return outcome;
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${what} did not finish within ${timeoutMs} ms (killed); stderr tail:\n${err.slice(-6000)}`);
  };
  return { child, stderr: () => err, exited, exitWithin };
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
