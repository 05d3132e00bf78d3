import { App } from '../app.js';
import { requireSettings } from '../config/load.js';
import { ErrorCodes, isStreamserveError } from '../errors.js';
import { commandContext } from './context.js';
import { onStopSignals } from './signals.js';

/** `streamserve run`: serve until SIGTERM/SIGINT, then stop gracefully. A second signal exits at once. */
export async function runCommand(argv: string[]): Promise<number> {
  const { config, logger } = commandContext(argv);
  requireSettings(config, ['brokers'], 'run');
  let fatal: ((err: Error) => void) | undefined;
  const failed = new Promise<Error>((resolve) => (fatal = resolve));
  const app = new App({ config, logger, onFatal: (err) => fatal!(err) });

  const stopOn = new Promise<string>((resolve) => onStopSignals(logger, resolve));

  try {
    await Promise.race([app.start(), failed.then((err) => Promise.reject(err))]);
  } catch (err) {
    logger.error({ err }, 'startup failed');
    await app.stop();
    logger.flush();
    return isStreamserveError(err) && err.code === ErrorCodes.CONFIG_INVALID ? 2 : 1;
  }
  const why = await Promise.race([stopOn.then((s) => ({ signal: s })), failed.then((err) => ({ err }))]);
  logger.info(why, 'stop requested');
  const code = await app.stop();
  logger.flush();
  return 'err' in why ? 1 : code;
}
