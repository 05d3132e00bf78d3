import type { Logger } from 'pino';

/**
 * Calls `onFirst` on the first SIGTERM or SIGINT (stop gracefully); a second one exits at once with 130, saying why
 * (`hint`: what the operator should know about the work left undrained).
 */
export function onStopSignals(logger: Logger, onFirst: (signal: NodeJS.Signals) => void, hint = ''): void {
  let signals = 0;
  const handle = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, `second signal: exiting without draining${hint ? ` (${hint})` : ''}`);
      logger.flush();
      process.exit(130);
    }
    onFirst(signal);
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
