import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCodes, StreamserveError } from '../errors.js';
import { REDACTED, redactText, secretsInUrl } from '../redact.js';
import { FETCH_BYTES_WHILE_HTTP, settings, settingNames, type Config, type SettingName } from './settings.js';

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Parsed CLI flags by flag name (without dashes). */
  flags?: Record<string, string | boolean | undefined>;
  /** Path of a JSON file whose keys are setting names (e.g. "maxBatchSize"). */
  file?: string;
}

/** Where one setting's value came from, for error messages. */
function origin(name: SettingName): string {
  const s = settings[name];
  return `${name} (${s.env} / --${s.flag})`;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `invalid configuration: cannot read config file ${path}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `invalid configuration: config file ${path} is not JSON`, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `invalid configuration: config file ${path} must hold a JSON object`);
  }
  return json as Record<string, unknown>;
}

/**
 * Builds the frozen Config from defaults < file < environment < flags, validating everything once.
 * All problems are reported together, each naming the setting, its env var and its flag.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const file = sources.file ? readFile(sources.file) : {};
  const problems: string[] = [];

  for (const key of Object.keys(file)) {
    if (!Object.hasOwn(settings, key)) problems.push(`${key} (config file): unknown setting`);
  }

  const raw: Record<string, unknown> = {};
  for (const name of settingNames) {
    const s = settings[name];
    const fromFlag = flags[s.flag];
    const fromEnv = env[s.env];
    if (fromFlag !== undefined) raw[name] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') raw[name] = fromEnv;
    else if (file[name] !== undefined) raw[name] = file[name];
  }

  const out: Record<string, unknown> = {};
  for (const name of settingNames) {
    const parsed = (settings[name].schema as z.ZodType).safeParse(raw[name]);
    if (parsed.success) out[name] = parsed.data;
    else {
      const shown = settings[name].secret ? REDACTED : redactText(JSON.stringify(raw[name]) ?? 'nothing');
      for (const issue of parsed.error.issues) problems.push(`${origin(name)}: ${issue.message} (got ${shown})`);
    }
  }

  if (out.saslMechanism !== undefined && (out.saslUsername === undefined || out.saslPassword === undefined)) {
    problems.push(`${origin('saslMechanism')}: needs ${settings.saslUsername.env} and ${settings.saslPassword.env}`);
  }
  if (out.outputTopic !== undefined && out.outputTopic === out.inputTopic) {
    problems.push(`${origin('outputTopic')}: must differ from the input topic`);
  }
  if (out.dlqTopic !== undefined && (out.dlqTopic === out.inputTopic || out.dlqTopic === out.outputTopic)) {
    problems.push(`${origin('dlqTopic')}: must differ from the input and output topics`);
  }
  if ((out.schemaRegistryUsername === undefined) !== (out.schemaRegistryPassword === undefined)) {
    problems.push(`${origin('schemaRegistryUsername')}: needs ${settings.schemaRegistryPassword.env} as well (and the other way round)`);
  }
  if (
    typeof out.heartbeatIntervalMs === 'number' &&
    typeof out.sessionTimeoutMs === 'number' &&
    out.heartbeatIntervalMs * 3 > out.sessionTimeoutMs
  ) {
    problems.push(`${origin('heartbeatIntervalMs')}: must be at most a third of sessionTimeoutMs`);
  }

  if (problems.length > 0) {
    throw new StreamserveError(ErrorCodes.CONFIG_INVALID, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  if (out.httpPort !== undefined && raw.maxBytesPerPartition === undefined) out.maxBytesPerPartition = FETCH_BYTES_WHILE_HTTP;
  for (const value of Object.values(out)) if (Array.isArray(value)) Object.freeze(value);
  return Object.freeze(out) as Config;
}

/** Requires settings that are optional in general but needed by one command. */
export function requireSettings(config: Config, names: readonly SettingName[], command: string): void {
  const missing = names.filter((n) => config[n] === undefined);
  if (missing.length > 0) {
    throw new StreamserveError(
      ErrorCodes.CONFIG_INVALID,
      `invalid configuration:\n  - ${missing.map((n) => `${origin(n)}: required by \`${command}\``).join('\n  - ')}`,
    );
  }
}

/** The config fit to show (logs): secret settings replaced, and the credentials inside any URL (src/redact.ts). */
export function redactedConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of settingNames) {
    const value = config[name];
    if ('secret' in settings[name] && value !== undefined) out[name] = REDACTED;
    else if (typeof value === 'string') out[name] = redactText(value);
    else if (Array.isArray(value)) out[name] = value.map((v: unknown) => (typeof v === 'string' ? redactText(v) : v));
    else out[name] = value;
  }
  return out;
}

/**
 * The secrets the config holds: the values of the settings marked secret, and the credentials inside the URLs of any
 * setting (userinfo, credential-like query values). For src/redact.ts `rememberSecrets`.
 */
export function configSecrets(config: Config): string[] {
  const out: string[] = [];
  for (const name of settingNames) {
    const value = config[name];
    if (value === undefined) continue;
    if ('secret' in settings[name]) out.push(String(value));
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'string' && v.includes('://')) out.push(...secretsInUrl(v));
  }
  return out;
}
