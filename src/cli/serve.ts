import { App } from '../app.js';
import { ErrorCodes, isStreamserveError } from '../errors.js';
import { commandContext } from './context.js';
import { onStopSignals } from './signals.js';

/**
 * `streamserve serve`: the model over HTTP only (`POST /predict`, the Open Inference Protocol v2) with no broker at
 * all — the Flask service's replacement — with the same admin server and metrics. On SIGTERM/SIGINT requests in
 * flight are answered, new ones get 503, then it exits.
 */
export async function serveCommand(argv: string[]): Promise<number> {
  const { config, logger } = commandContext(argv);
  const app = new App({ config, logger, inputs: { kafka: false, http: true } });
  const stopOn = new Promise<string>((resolve) => onStopSignals(logger, resolve));
  try {
    await app.start();
  } catch (err) {
    logger.error({ err }, 'startup failed');
    await app.stop();
    logger.flush();
    return isStreamserveError(err) && err.code === ErrorCodes.CONFIG_INVALID ? 2 : 1;
  }
  logger.info({ signal: await stopOn }, 'stop requested');
  const code = await app.stop();
  logger.flush();
  return code;
}
