import type { EventEmitter } from 'node:events';
import { checkPredict, type ModelRuntime, type RuntimeLoadOptions } from './model.js';
import type { Signature } from './signature.js';
import type { WorkerInput, WorkerReply, WorkerRequest } from './workerProtocol.js';
import { ErrorCodes, StreamserveError, type ErrorCode } from '../errors.js';

/** `logger` stays on this thread (host failures and restarts); the host logs at `logLevel` to stderr. */
export type HostedModelOptions = RuntimeLoadOptions & { logLevel?: string };

/**
 * Where the model runs off the main thread: a worker thread (workerModel.ts) or a child process (processModel.ts).
 * Both are event emitters of `message` (a WorkerReply), `error` and `exit`.
 */
export interface ModelChannel {
  readonly events: EventEmitter;
  post(request: WorkerRequest, transfer?: ArrayBuffer[]): void;
  /** Ends it at once, whatever it is doing (a worker is terminated, a process killed); resolves once it is gone. */
  kill(): Promise<void>;
  /** Resolves once it has exited, for whatever reason (also when that was before the caller asked). */
  readonly exited: Promise<void>;
}

export type SpawnChannel = (input: WorkerInput) => ModelChannel;

interface Pending {
  resolve: (output: Float32Array) => void;
  reject: (err: Error) => void;
}

interface Started {
  channel: ModelChannel;
  ready: Extract<WorkerReply, { type: 'ready' }>;
}

/**
 * A ModelRuntime hosted off the main thread: the host loads and warms up the runtime (runtimes.ts) and reports it as
 * its own (`runtime` is the host's, e.g. `tfjs-wasm`); `predict` posts a copy of the rows and resolves with the host's
 * output. If the host dies, calls in flight reject as retryable and the next call starts a new one.
 */
export async function loadHostedModel(options: HostedModelOptions, spawn: SpawnChannel, what: string): Promise<ModelRuntime> {
  const started = await startHost(options, spawn, what);
  return new HostedModel(options, spawn, what, started);
}

function startHost(options: HostedModelOptions, spawn: SpawnChannel, what: string): Promise<Started> {
  return new Promise((resolve, reject) => {
    // Named one by one: `logger` cannot be cloned into the host.
    const input: WorkerInput = {
      dir: options.dir,
      ...(options.warmupBatchSizes ? { warmupBatchSizes: options.warmupBatchSizes } : {}),
      ...(options.device !== undefined ? { device: options.device } : {}),
      logLevel: options.logLevel ?? 'info',
    };
    const channel = spawn(input);
    const { events } = channel;
    const onMessage = (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        cleanup();
        resolve({ channel, ready: reply });
      } else if (reply.type === 'load-failed') {
        cleanup();
        reject(new StreamserveError(reply.code as ErrorCode, reply.message));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      void channel.kill();
      reject(new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `model ${what} failed: ${err.message}`, { cause: err }));
    };
    const onExit = (code: number | null, signal?: string | null) => {
      cleanup();
      reject(new StreamserveError(ErrorCodes.MODEL_LOAD_FAILED, `model ${what} exited with ${signal ?? `code ${code}`} while loading ${options.dir}`));
    };
    const cleanup = () => {
      events.off('message', onMessage);
      events.off('error', onError);
      events.off('exit', onExit);
    };
    events.on('message', onMessage);
    events.on('error', onError);
    events.on('exit', onExit);
  });
}

class HostedModel implements ModelRuntime {
  readonly signature: Signature;
  readonly runtime: string;
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly #options: HostedModelOptions;
  readonly #spawn: SpawnChannel;
  readonly #what: string;
  #host: Promise<ModelChannel>;
  /** Hosts ended on purpose (restart): their exit is not a crash. */
  readonly #replaced = new WeakSet<ModelChannel>();
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #closing: Promise<void> | null = null;

  constructor(options: HostedModelOptions, spawn: SpawnChannel, what: string, started: Started) {
    this.#options = options;
    this.#spawn = spawn;
    this.#what = what;
    this.signature = started.ready.signature;
    this.runtime = started.ready.runtime;
    this.inputWidth = started.ready.inputWidth;
    this.outputWidth = started.ready.outputWidth;
    this.#host = Promise.resolve(this.#attach(started.channel));
  }

  #attach(channel: ModelChannel): ModelChannel {
    const { events } = channel;
    events.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'failure') return;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.type === 'result') pending.resolve(reply.output);
      else pending.reject(new StreamserveError(reply.code as ErrorCode, reply.message, { retryable: reply.retryable }));
    });
    events.on('error', (err) => this.#options.logger?.error({ err }, `model ${this.#what} error`));
    events.once('exit', (code: number | null, signal?: string | null) => {
      if (this.#closing || this.#replaced.has(channel)) return;
      this.#options.logger?.error({ code, signal }, `model ${this.#what} exited; starting a new one`);
      this.#failPending(`model ${this.#what} exited (${signal ?? `code ${code}`})`);
      this.#host = this.#start();
    });
    return channel;
  }

  async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    checkPredict(this.#closing !== null, rows, count, this.inputWidth);
    // A host that failed to start (the model could not be loaded) is started again by the next call.
    const host = await this.#host.catch(() => (this.#host = this.#start()));
    const id = this.#nextId++;
    const copy = rows.slice();
    return new Promise<Float32Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      host.post({ type: 'predict', id, rows: copy, count }, [copy.buffer as ArrayBuffer]);
    });
  }

  /** Replaces the host: the running call is abandoned (it rejects as retryable) and a new host loads the model. */
  async restart(): Promise<void> {
    if (this.#closing) return;
    const old = await this.#host.catch(() => null);
    this.#host = this.#start();
    if (old) {
      this.#replaced.add(old);
      await old.kill();
    }
    this.#failPending(`model ${this.#what} replaced (a call did not return in time, or the model failed)`);
    await this.#host;
    this.#options.logger?.info(`model ${this.#what} replaced`);
  }

  /** Starts a host; a failed start is logged, and the next restart() or crash starts another. */
  #start(): Promise<ModelChannel> {
    const starting = startHost(this.#options, this.#spawn, this.#what).then((s) => this.#attach(s.channel));
    starting.catch((err: unknown) => this.#options.logger?.error({ err }, `starting the model ${this.#what} failed`));
    return starting;
  }

  #failPending(reason: string): void {
    const failed = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of failed) p.reject(new StreamserveError(ErrorCodes.INFERENCE_FAILED, reason, { retryable: true }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const host = await this.#host.catch(() => null);
      if (!host) return;
      host.post({ type: 'close' });
      // A host that does not close in time (a call that does not return) is ended.
      const timer = setTimeout(() => void host.kill(), 5000);
      await host.exited;
      clearTimeout(timer);
      for (const p of this.#pending.values()) p.reject(new StreamserveError(ErrorCodes.INFERENCE_FAILED, 'model closed'));
      this.#pending.clear();
    })();
    return this.#closing;
  }
}
