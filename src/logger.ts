import { pino, type Logger, type LevelWithSilent, type LoggerOptions as PinoOptions } from 'pino';
import { REDACTED, SECRET_LOG_PATHS, redactText } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** `json` for machines, `pretty` for a terminal; `auto` picks pretty when stderr is a TTY. */
  format: 'json' | 'pretty' | 'auto';
}

/**
 * What every pino logger of streamserve redacts (src/redact.ts): fields that hold a secret by name, and, in each
 * line as written (message, fields, `err` with its stack and causes, child bindings), every URL's credentials and
 * every known secret value. The model worker's logger takes the same.
 */
export const redaction: Pick<PinoOptions, 'redact' | 'hooks'> = {
  redact: { paths: SECRET_LOG_PATHS, censor: REDACTED },
  hooks: { streamWrite: redactText },
};

/** The one root logger. Components take `logger.child({ component })`. Logs go to stderr; stdout is for data. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      level: options.level,
      ...redaction,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level: options.level, ...redaction }, pino.destination({ dest: 2, sync: false }));
}
