import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Registers the "cpu" backend with tfjs-core on import; the wasm import below registers "wasm".
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { Logger } from 'pino';
import { ErrorCodes, StreamserveError, messageOf } from '../errors.js';
import { BackendNames, type BackendName } from './backendNames.js';

/**
 * Selects the process-wide TensorFlow.js backend. tfjs has one active backend per process, so every model
 * loaded in a process runs on the backend selected last; streamserve selects it once at startup.
 */

const require = createRequire(import.meta.url);

/** Kept in a variable so TypeScript does not try to resolve a package that is usually not installed. */
const TFJS_NODE = '@tensorflow/tfjs-node';

export interface BackendInfo {
  name: BackendName;
  /** Whether the wasm backend uses its SIMD build; threads are never available in Node (see below). */
  wasmSimd?: boolean;
}

function isResolvable(specifier: string): boolean {
  try {
    require.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/**
 * Backends that can be selected in this installation, fastest first. `tensorflow` appears only when
 * @tensorflow/tfjs-node is installed (it may still fail to load if its native library is broken).
 */
export function availableBackends(): BackendName[] {
  return BackendNames.filter((name) => name !== 'tensorflow' || isResolvable(TFJS_NODE));
}

// Setup runs once per backend per process; concurrent and repeated calls share the promise.
const registered = new Map<BackendName, Promise<void>>();

async function registerTensorflow(): Promise<void> {
  if (!isResolvable(TFJS_NODE)) {
    throw new StreamserveError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `backend "tensorflow" needs ${TFJS_NODE}, which is not installed. Install it with ` +
        `\`npm install ${TFJS_NODE}@${tf.version_core}\` (its install script downloads libtensorflow, so it needs ` +
        'internet access), or choose backend "wasm" or "cpu".',
    );
  }
  try {
    // Importing tfjs-node registers the "tensorflow" backend with the shared tfjs-core instance.
    await import(TFJS_NODE);
  } catch (cause) {
    throw new StreamserveError(
      ErrorCodes.BACKEND_UNAVAILABLE,
      `backend "tensorflow": ${TFJS_NODE} is installed but failed to load (${messageOf(cause)}); ` +
        'reinstall it or choose backend "wasm" or "cpu"',
      { cause },
    );
  }
}

function registerWasm(): Promise<void> {
  // In Node the wasm backend reads its .wasm binaries from disk; without a prefix it looks next to the entry
  // script, which is wrong under tsx and bundlers. The package has no "exports" map, so resolve package.json.
  const distDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + sep;
  setWasmPaths(distDir);
  return Promise.resolve();
}

function register(name: BackendName): Promise<void> {
  let setup = registered.get(name);
  if (setup === undefined) {
    setup = name === 'tensorflow' ? registerTensorflow() : name === 'wasm' ? registerWasm() : Promise.resolve();
    // A failed setup may be retried (e.g. after installing the package in a REPL), so do not cache failures.
    setup.catch(() => registered.delete(name));
    registered.set(name, setup);
  }
  return setup;
}

// Serialises selections so two concurrent calls cannot interleave tf.setBackend.
let selecting: Promise<unknown> = Promise.resolve();

/**
 * Makes `name` the active backend and resolves to the backend actually in effect (tf.getBackend()).
 * Idempotent: selecting the active backend again does nothing. Throws BACKEND_UNAVAILABLE if it cannot be used.
 */
export function useBackend(name: BackendName, logger?: Logger): Promise<BackendName> {
  const next = selecting.then(() => select(name, logger));
  selecting = next.catch(() => undefined);
  return next;
}

async function select(name: BackendName, logger?: Logger): Promise<BackendName> {
  if (!BackendNames.includes(name)) {
    throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `unknown backend "${String(name)}"`);
  }
  // Production mode skips debug checks and silences tfjs's console.warn nags ("install tfjs-node"), which
  // would otherwise bypass our structured logs.
  tf.env().set('PROD', true);
  await register(name);
  // engine().backendName, unlike tf.getBackend(), does not initialise tfjs's default backend as a side effect.
  if (tf.engine().backendName !== name) {
    let ok: boolean;
    try {
      ok = await tf.setBackend(name);
    } catch (cause) {
      throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `backend "${name}" failed to initialise`, { cause });
    }
    // setBackend resolves false (and tfjs falls back to another backend) when initialisation fails.
    if (!ok) throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `backend "${name}" failed to initialise`);
    await tf.ready();
  }
  const active = tf.getBackend();
  if (active !== name) {
    throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `asked for backend "${name}" but "${active}" is active`);
  }
  const info = await backendInfo();
  logger?.info({ backend: info.name, wasmSimd: info.wasmSimd, tfjs: tf.version_core }, 'tensorflow.js backend ready');
  return info.name;
}

/** The active backend and, for wasm, whether the SIMD build is in use. */
export async function backendInfo(): Promise<BackendInfo> {
  const active = tf.getBackend();
  // Other packages may register backends streamserve does not offer (tfjs-node pulls in the @tensorflow/tfjs union,
  // which registers webgl); those are reported as unavailable.
  const name = BackendNames.find((n) => n === active);
  if (name === undefined) throw new StreamserveError(ErrorCodes.BACKEND_UNAVAILABLE, `unsupported backend "${active}" is active`);
  if (name !== 'wasm') return { name };
  // tfjs-backend-wasm never enables its threaded build under Node (flag WASM_HAS_MULTITHREAD_SUPPORT is
  // hard-wired false there, tensorflow/tfjs#3830), so SIMD is the only acceleration to report.
  const wasmSimd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  return { name, wasmSimd };
}
