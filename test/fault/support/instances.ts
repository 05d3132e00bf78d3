/**
 * streamserve instances as child processes: `node bin/streamserve.js run` (the way an operator runs it) or the
 * slowed-model script (serve.ts). Each registers with a Fleet that SIGKILLs whatever still runs at cleanup, so a
 * failing scenario leaves no process behind.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startCli, startNode, type CliProcess } from '../../integration/support/process.js';
import { getJson, type TestTopics } from '../../integration/support/app.js';
import { withTimeout } from '../../support/kafka.js';
import type { Guarantee } from './tally.js';
import { poll } from './wait.js';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));
const EXIT_TIMEOUT_MS = 15_000;

export interface Status {
  state: string;
  guarantee?: string;
  ready: { ready: boolean; checks: Record<string, boolean> };
  inflight: number;
  paused: boolean;
  counts: {
    recordsIn: number;
    predictions: number;
    deadLetters: number;
    backpressurePauses: number;
    peakInflight: number;
    sinkErrors: number;
  };
  assignments: { partition: number; lag: number | null; committedOffset: string | null; highWatermark: string | null }[];
}

/** Flags that select the delivery mode. At-least-once is the default and needs none. */
export function guaranteeArgs(mode: Guarantee): string[] {
  return mode === 'at-least-once' ? [] : ['--guarantee', mode];
}

/** The environment of one instance: brokers, topics, group, a free admin port, JSON logs at info (join lines). */
export async function instanceEnv(brokers: string[], topics: TestTopics, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    KAFKA_BROKERS: brokers.join(','),
    INPUT_TOPIC: topics.input,
    OUTPUT_TOPIC: topics.output,
    DLQ_TOPIC: topics.dlq,
    GROUP_ID: topics.group,
    ADMIN_PORT: String(await freePort()),
    LOG_LEVEL: 'info',
    SESSION_TIMEOUT_MS: '6000',
    HEARTBEAT_INTERVAL_MS: '1000',
    SHUTDOWN_TIMEOUT_MS: '20000',
    ...extra,
  };
}

export class Instance {
  readonly name: string;
  readonly proc: CliProcess;
  readonly port: number;
  #exit: number | string | undefined;

  constructor(name: string, proc: CliProcess, port: number) {
    this.name = name;
    this.proc = proc;
    this.port = port;
    void proc.exited.then((code) => (this.#exit = code));
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  /** The exit code or signal, once exited. */
  get exit(): number | string | undefined {
    return this.#exit;
  }

  /** For `poll`'s abort: why waiting on this instance is pointless. */
  readonly died = (): string | undefined =>
    this.#exit === undefined ? undefined : `${this.name} exited (${this.#exit}); stderr:\n${this.stderrTail()}`;

  stderrTail(chars = 3000): string {
    return this.proc.stderr().slice(-chars);
  }

  /** Log lines (JSON) whose msg is `msg`. */
  logLines(msg: string): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.proc.stderr().split('\n')) {
      if (!line.includes(`"msg":"${msg}"`)) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a line cut by a kill
      }
    }
    return out;
  }

  async status(): Promise<Status> {
    return (await getJson<Status>(this.port, '/status')).body;
  }

  async readyz(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.port}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status;
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await poll(async () => (await this.readyz()) === 200, { message: `${this.name} ready`, timeoutMs, abort: this.died });
  }

  /** Outcomes this instance produced so far (its own counts). */
  async done(): Promise<number> {
    const { counts } = await this.status();
    return counts.predictions + counts.deadLetters;
  }

  /** Sends `signal` and waits for the exit. Resolves with the exit code or signal name. */
  async kill(signal: NodeJS.Signals, timeoutMs = signal === 'SIGKILL' ? EXIT_TIMEOUT_MS : 40_000): Promise<number | string> {
    if (this.#exit === undefined) this.proc.child.kill(signal);
    return withTimeout(this.proc.exited, timeoutMs, `${this.name} exit after ${signal}`);
  }
}

/** Every instance a scenario starts, so cleanup can kill what still runs. */
export class Fleet {
  readonly #instances: Instance[] = [];
  #n = 0;

  get instances(): readonly Instance[] {
    return this.#instances;
  }

  /** `node bin/streamserve.js run [flags]`. */
  run(env: Record<string, string>, args: string[] = []): Instance {
    return this.#add('run', startCli(['run', ...args], env), env);
  }

  /** The slowed-model script (serve.ts): env FAULT_MODEL_DELAY_MS selects the slowness. */
  serve(env: Record<string, string>, args: string[] = []): Instance {
    return this.#add('serve', startNode(['--import', 'tsx', SERVE, ...args], env), env);
  }

  #add(kind: string, proc: CliProcess, env: Record<string, string>): Instance {
    const instance = new Instance(`${kind}#${++this.#n}(pid ${proc.child.pid})`, proc, Number(env.ADMIN_PORT));
    this.#instances.push(instance);
    return instance;
  }

  /** Writes each instance's stderr (its JSON log) to `<dir>/<n>.log`, for a failed scenario's post-mortem. */
  dumpLogs(dir: string): void {
    mkdirSync(dir, { recursive: true });
    this.#instances.forEach((instance, n) => {
      writeFileSync(join(dir, `${n + 1}.log`), `# ${instance.name} exit ${String(instance.exit)}\n${instance.proc.stderr()}`);
    });
  }

  /** SIGKILLs every instance still running and waits for the exits. Never throws. */
  async killAll(): Promise<void> {
    await Promise.allSettled(this.#instances.filter((i) => i.exit === undefined).map((i) => i.kill('SIGKILL')));
  }
}
