/**
 * `streamserve run` with a slowed model, as a child process of a fault scenario (so its memory and its event loop
 * are its own): the same settings (environment and flags), the same App and model thread, the real model wrapped per
 * FAULT_MODEL_DELAY_MS (test/fault/support/models.ts) where the pipeline calls it. SIGTERM/SIGINT stop it gracefully.
 *
 *   node --import tsx test/fault/support/serve.ts [setting flags...]
 */
import { App } from '../../../src/app.js';
import { commandContext } from '../../../src/cli/context.js';
import { requireSettings } from '../../../src/config/load.js';
import { ErrorCodes, isStreamserveError } from '../../../src/errors.js';
import { loadRuntime } from '../../../src/model/runtimes.js';
import { loadWorkerModel } from '../../../src/model/workerModel.js';
import { wrappedLoader, wrapperFromEnv, type ModelLoader } from './models.js';

async function main(): Promise<number> {
  let context: ReturnType<typeof commandContext>;
  try {
    context = commandContext(process.argv.slice(2));
    requireSettings(context.config, ['brokers'], 'serve');
  } catch (err) {
    process.stderr.write(`${isStreamserveError(err) ? `${err.code}: ` : ''}${String((err as Error).message)}\n`);
    return isStreamserveError(err) && err.code === ErrorCodes.CONFIG_INVALID ? 2 : 1;
  }
  const { config, logger } = context;
  let fatal: (err: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => (fatal = resolve));
  // The same model thread as `run` would use; the fault wraps the model as the pipeline sees it.
  const base: ModelLoader =
    config.inferenceThread === 'worker' ? (options) => loadWorkerModel({ ...options, logLevel: config.logLevel }) : loadRuntime;
  const app = new App({ config, logger, onFatal: (err) => fatal(err), loadModel: wrappedLoader(wrapperFromEnv(process.env), base) });
  const stopOn = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  try {
    await Promise.race([app.start(), failed.then((err) => Promise.reject(err))]);
  } catch (err) {
    if (err !== app.fatal) logger.error({ err }, 'startup failed');
    await app.stop();
    logger.flush();
    return 1;
  }
  const why = await Promise.race([stopOn.then((signal) => ({ signal })), failed.then((err) => ({ err }))]);
  // The app's own failure is logged once, by the app; here only its code.
  logger.info('err' in why ? { fatal: isStreamserveError(why.err) ? why.err.code : why.err.name } : why, 'stop requested');
  const code = await app.stop();
  logger.flush();
  return 'err' in why ? 1 : code;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Like `run`, the process ends when nothing is left open. If something is, say what (the timer itself does
    // not keep the process alive).
    setTimeout(() => {
      process.stderr.write(`${JSON.stringify({ level: 50, msg: 'still running after stop', resources: process.getActiveResourcesInfo() })}\n`);
    }, 3000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`serve failed: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
