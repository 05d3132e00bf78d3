import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configSecrets, loadConfig } from '../config/load.js';
import { rememberSecrets } from '../redact.js';
import { settings, settingNames, type Config } from '../config/settings.js';
import { createLogger, type Logger } from '../logger.js';
import { invalidArguments } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts: one per setting, plus --config FILE. */
const settingFlags: Options = Object.fromEntries([
  ['config', { type: 'string' }],
  ...settingNames.map((n) => [settings[n].flag, { type: 'string' }]),
]);

export interface CommandContext {
  config: Config;
  logger: Logger;
  /** The command's own flags (not settings). */
  flags: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses argv for one command: setting flags plus the command's own `options`, then loads and validates the
 * config once (defaults < --config file / CONFIG_FILE < environment < flags). Unknown flags are errors.
 */
export function commandContext(argv: string[], options: Options = {}, env: NodeJS.ProcessEnv = process.env): CommandContext {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { ...settingFlags, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw invalidArguments((err as Error).message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const settingValues: Record<string, string | boolean | undefined> = {};
  const own: Record<string, string | boolean | undefined> = {};
  const settingFlagNames = new Set(settingNames.map((n) => settings[n].flag));
  for (const [k, v] of Object.entries(values)) (settingFlagNames.has(k) ? settingValues : own)[k] = v;
  const file = (values.config as string | undefined) ?? env.CONFIG_FILE;
  const config = loadConfig({ env, flags: settingValues, ...(file ? { file } : {}) });
  // From here on no log line, printed error or admin answer of this process shows them (src/redact.ts).
  rememberSecrets(configSecrets(config));
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  delete own.config;
  return { config, logger, flags: own, positionals: parsed.positionals };
}

export function intFlag(flags: CommandContext['flags'], name: string, fallback: number, min = 0): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw invalidArguments(`--${name} must be an integer >= ${min} (got ${String(raw)})`);
  }
  return n;
}
