/**
 * A single-node Apache Kafka (KRaft) on this machine, started by `scripts/kafka-local/kafka-local.sh` from Maven
 * Central jars — for the CLI's `demo` command and for tests on machines without a Docker engine. Needs Java 17+,
 * and Maven once to download the jars.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, StreamserveError } from '../errors.js';

export interface LocalBrokerOptions {
  /** PLAINTEXT port on 127.0.0.1; the controller listens on port + 1. Default 9092. */
  port?: number;
  /** Holds data/, logs/ and the generated server.properties. Default: scripts/kafka-local/.kafka-<port>. */
  workDir?: string;
  /** Start on the existing data/ (topics, offsets, transactions survive) instead of fresh storage. */
  keepData?: boolean;
  /** Receives the script's output lines (download progress, start time, failures). */
  log?: (line: string) => void;
  /**
   * Enforce ACLs (StandardAuthorizer), allowing everyone where a resource has no ACL: tests take a permission away
   * with a DENY ACL for User:ANONYMOUS (every PLAINTEXT client, the broker's own connections included).
   */
  authorizer?: boolean;
  /**
   * The port clients are told to connect to (the broker's advertised listener), when it is not `port`: a proxy in
   * front of the broker (tests that cut connections at chosen requests). `brokers` then names it too.
   */
  advertisedPort?: number;
}

export interface LocalBroker {
  /** Bootstrap list for kafkajs: the advertised port. */
  readonly brokers: string[];
  readonly port: number;
  /** Controlled shutdown (SIGTERM, SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, like a crash; data stays for `restart({ keepData: true })`. */
  kill(): Promise<void>;
  /** Stops the broker if it runs and starts it again; by default on the same data. */
  restart(options?: { keepData: boolean }): Promise<void>;
  /** SIGSTOP: the broker keeps its connections and answers nothing (a hang, or a long GC pause). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

const SCRIPT = fileURLToPath(new URL('../../scripts/kafka-local/kafka-local.sh', import.meta.url));
const HOST = '127.0.0.1'; // not `localhost`: Node may resolve it to ::1, where the broker does not listen
const PREREQUISITES = 'the local Kafka broker needs Java 17+ (java on PATH or JAVA_HOME) and, once, Maven (mvn) to download its jars';

export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<LocalBroker> {
  const broker = new ScriptBroker(options);
  await broker.setup();
  await broker.start(options.keepData ?? false);
  return broker;
}

class ScriptBroker implements LocalBroker {
  readonly brokers: string[];
  readonly port: number;
  readonly #workDir: string | undefined;
  readonly #log: (line: string) => void;
  readonly #authorizer: boolean;
  readonly #advertisedPort: number;
  #running = false;
  /** Operations run one at a time, in call order; concurrent stops share the queue and the second is a no-op. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: LocalBrokerOptions) {
    this.port = options.port ?? 9092;
    this.#advertisedPort = options.advertisedPort ?? this.port;
    this.brokers = [`${HOST}:${this.#advertisedPort}`];
    this.#workDir = options.workDir;
    this.#log = options.log ?? (() => {});
    this.#authorizer = options.authorizer ?? false;
  }

  setup(): Promise<void> {
    return this.#enqueue(async () => {
      const result = await this.#run('setup');
      if (result.code !== 0) {
        throw brokerError(`could not prepare the local Kafka broker (exit ${result.code}): ${result.tail}; ${PREREQUISITES}`);
      }
    });
  }

  start(keepData: boolean): Promise<void> {
    return this.#enqueue(() => this.#start(keepData));
  }

  stop(): Promise<void> {
    return this.#enqueue(() => this.#halt('stop'));
  }

  kill(): Promise<void> {
    return this.#enqueue(() => this.#halt('kill'));
  }

  restart(options: { keepData: boolean } = { keepData: true }): Promise<void> {
    return this.#enqueue(async () => {
      await this.#halt('stop');
      await this.#start(options.keepData);
    });
  }

  async #start(keepData: boolean): Promise<void> {
    const result = await this.#run('start', keepData);
    if (result.code !== 0) {
      throw brokerError(`local Kafka broker on ${this.brokers[0]} did not start (exit ${result.code}): ${result.tail}`);
    }
    this.#running = true;
  }

  async #halt(command: 'stop' | 'kill'): Promise<void> {
    if (!this.#running) return;
    const result = await this.#run(command);
    if (result.code !== 0) {
      throw brokerError(`kafka-local.sh ${command} failed for ${this.brokers[0]}: ${result.tail}`);
    }
    this.#running = false;
  }

  pause(): void {
    process.kill(this.#pid(), 'SIGSTOP');
  }

  resume(): void {
    process.kill(this.#pid(), 'SIGCONT');
  }

  /** The running broker's pid, from the script's pid file. */
  #pid(): number {
    const workDir = this.#workDir ?? join(SCRIPT, '..', `.kafka-${this.port}`);
    const pid = this.#running ? Number(readFileSync(join(workDir, 'kafka.pid'), 'utf8').trim()) : NaN;
    if (!Number.isInteger(pid) || pid <= 0) throw brokerError(`the local Kafka broker on ${this.brokers[0]} is not running`);
    return pid;
  }

  #enqueue(operation: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(operation);
    this.#queue = next.catch(() => {});
    return next;
  }

  #run(command: string, keepData = false): Promise<{ code: number; tail: string }> {
    if (!existsSync(SCRIPT)) {
      return Promise.reject(brokerError(`kafka-local.sh not found at ${SCRIPT}`));
    }
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_PORT: String(this.port),
      KAFKA_ADVERTISED_PORT: String(this.#advertisedPort),
      KAFKA_KEEP_DATA: keepData ? '1' : '0',
      KAFKA_AUTHORIZER: this.#authorizer ? '1' : '0',
      // the script's watchdog stops the broker if this process dies without stopping it
      KAFKA_OWNER_PID: String(process.pid),
    };
    if (this.#workDir !== undefined) env.KAFKA_WORK_DIR = this.#workDir;
    else delete env.KAFKA_WORK_DIR;

    return new Promise((resolve, reject) => {
      const child = spawn('bash', [SCRIPT, command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: string[] = [];
      const onData = (chunk: Buffer): void => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          lines.push(line);
          if (lines.length > 40) lines.shift();
          this.#log(line);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('error', (err) => reject(brokerError(`could not run kafka-local.sh (bash): ${err.message}`, err)));
      child.once('close', (code, signal) => {
        resolve({ code: code ?? (signal === null ? 1 : 128), tail: lines.slice(-12).join('\n') || '(no output)' });
      });
    });
  }
}

function brokerError(message: string, cause?: unknown): StreamserveError {
  return new StreamserveError(ErrorCodes.BROKER_UNAVAILABLE, message, { cause });
}
