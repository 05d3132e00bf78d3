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
    // A failure the app reported itself is logged already, once.
    if (err !== app.fatal) logger.error({ err }, 'startup failed');
    else logger.error({ code: isStreamserveError(err) ? err.code : undefined }, 'startup failed');
    await app.stop();
    logger.flush();
    return isStreamserveError(err) && err.code === ErrorCodes.CONFIG_INVALID ? 2 : 1;
  }
  const why = await Promise.race([stopOn.then((signal) => ({ signal })), failed.then((err) => ({ err }))]);
  // The app's own failure is logged once, by the app; here only its code.
  logger.info('err' in why ? { fatal: isStreamserveError(why.err) ? why.err.code : why.err.name } : why, 'stop requested');
  const code = await app.stop();
  logger.flush();
  return 'err' in why ? 1 : code;
}
