import type { ModelRuntime } from './model.js';
import type { HostedModelOptions } from './modelHost.js';
import { loadProcessModel } from './processModel.js';
import { runtimeFor } from './runtimes.js';
import { loadWorkerModel } from './workerModel.js';

/**
 * Loads the model off the main thread (INFERENCE_THREAD=worker) where its runtime can be abandoned: a worker thread,
 * or a child process for a runtime with native calls (runtimes.ts `host`). Throws what runtimeFor and the load throw.
 */
export async function loadOffThread(options: HostedModelOptions): Promise<ModelRuntime> {
  const { host } = await runtimeFor(options.dir);
  return host === 'process' ? loadProcessModel(options) : loadWorkerModel(options);
}
