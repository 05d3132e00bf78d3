import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /** `json` for machines, `pretty` for a terminal; `auto` picks pretty when stderr is a TTY. */
  format: 'json' | 'pretty' | 'auto';
}

/** The one root logger. Components take `logger.child({ component })`. Logs go to stderr; stdout is for data. */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true);
  const redact = { paths: ['*.password', '*.sasl.password', 'sasl.password', '*.ssl.key'], censor: '[redacted]' };
  if (pretty) {
    return pino({
      level: options.level,
      redact,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino({ level: options.level, redact }, pino.destination({ dest: 2, sync: false }));
}
