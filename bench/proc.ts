/**
 * Measured work runs in child processes (compiled JavaScript, driven over IPC): each has its own heap, event loop and
 * peak RSS, can be pinned to cores with taskset, and can be profiled with --cpu-prof. Every child is registered so
 * that an error or a signal in the orchestrator kills it; every call has a timeout.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './util.js';
import { shippedNodeFlags } from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** bench/tsconfig.build.json compiles src/ and bench/ here: children run JavaScript, as streamserve ships (dist/). */
const BUILD_CONFIG = join(ROOT, 'bench', 'tsconfig.build.json');
const CHILD_ENTRY = join(ROOT, 'bench', '.build', 'bench', 'child.js');
const live = new Set<BenchChild>();
let built = false;

/**
 * Compiles the children's code, once per orchestrator (incremental: about a second when nothing changed). Children
 * run it without a TypeScript loader: tsx's loader thread, and its copy in the model worker, would add ~60 MB to
 * streamserve's RSS that the shipped, compiled streamserve does not have.
 */
export function buildChildren(): void {
  if (built) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', BUILD_CONFIG], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export interface ChildOptions {
  /** Shown in errors. */
  name: string;
  /** Which handlers the child loads (bench/child.ts). */
  role: 'clients' | 'model' | 'serve';
  /** taskset CPU list (e.g. "1" or "0,1"); unpinned when absent. */
  cpus?: string | undefined;
  /** Directory for --cpu-prof output (main thread and worker threads); no profiling when absent. */
  cpuProfDir?: string | undefined;
  /** stderr of the child (its logs) is appended here. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Node flags (e.g. --max-old-space-size=…). When absent, a `serve` child (streamserve) gets the flags streamserve
   * ships with (bin/streamserve.js) and other children none.
   */
  nodeFlags?: string[] | undefined;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

export class BenchChild {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(options: ChildOptions) {
    this.name = options.name;
    mkdirSync(dirname(options.logFile), { recursive: true });
    this.#log = createWriteStream(options.logFile, { flags: 'a' });
    buildChildren();
    const nodeArgs = [...(options.nodeFlags ?? (options.role === 'serve' ? shippedNodeFlags() : []))];
    if (options.cpuProfDir) {
      mkdirSync(options.cpuProfDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
    }
    const [command, args] = options.cpus
      ? ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgs, CHILD_ENTRY, options.role]]
      : [process.execPath, [...nodeArgs, CHILD_ENTRY, options.role]];
    this.#child = spawn(command, args as string[], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...options.env },
      cwd: ROOT,
    });
    this.#child.stdout!.pipe(this.#log, { end: false });
    this.#child.stderr!.pipe(this.#log, { end: false });
    this.#child.on('message', (reply: Reply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.error !== undefined) p.reject(new Error(`${this.name}: ${reply.error}`));
      else p.resolve(reply.result);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exitCode = code;
        live.delete(this);
        for (const p of this.#pending.values()) p.reject(new Error(`${this.name} exited (code ${code}, signal ${signal}) during a call; log: ${options.logFile}`));
        this.#pending.clear();
        resolve(code);
      });
    });
    this.#child.once('error', (err) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
    live.add(this);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Calls `method` in the child; rejects after `timeoutMs` (the child is then killed: its state is unknown). */
  async call<T>(method: string, params: unknown, timeoutMs: number): Promise<T> {
    if (this.#exitCode !== undefined) throw new Error(`${this.name} has exited`);
    const id = this.#nextId++;
    const result = new Promise<unknown>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#child.send({ id, method, params });
    try {
      return (await withTimeout(result, timeoutMs, `${this.name}.${method}`)) as T;
    } catch (err) {
      this.#pending.delete(id);
      if (/no result after/.test((err as Error).message)) this.kill();
      throw err;
    }
  }

  /** Asks the child to exit (profiles are written on a clean exit); SIGKILL after `graceMs`. */
  async close(graceMs = 15_000): Promise<void> {
    if (this.#exitCode === undefined && this.#child.connected) this.#child.send({ id: -1, method: 'exit', params: null });
    const code = await Promise.race([this.#exited, new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref())]);
    if (code === 'late') this.kill();
    await this.#exited;
    this.#log.end();
  }

  kill(): void {
    if (this.#exitCode === undefined) this.#child.kill('SIGKILL');
  }
}

/** Kills every child still alive (error and signal paths). */
export function killAllChildren(): void {
  for (const child of live) child.kill();
}
