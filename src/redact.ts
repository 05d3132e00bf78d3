/**
 * The one redaction mechanism. Everything streamserve writes for a person — every log line (the logger's
 * `streamWrite` hook, src/logger.ts), the admin server's bodies (src/admin/server.ts), an error printed on exit
 * (src/cli/main.ts), a command the demo prints (src/cli/demo.ts), the config as logged (src/config/load.ts) — passes
 * through `redactText`, which removes three kinds of secret wherever they stand:
 *
 * - the userinfo of a URL (`http://user:pass@host` → `http://[redacted]@host`): the user part too, since a token is
 *   often sent as the user (`https://TOKEN@host`);
 * - the value of a credential-like query parameter (`?token=…`, `access_token`, `api_key`, `signature`, ...);
 * - the values of this process's secret settings (`rememberSecrets`, called once the config is loaded): a password
 *   or token quoted anywhere, raw, JSON-escaped or URL-encoded. Only values of at least `MIN_SEARCHED_LENGTH`
 *   characters are searched for in free text; a shorter one would match ordinary words (it is still redacted where it
 *   is known by its place: its setting, a URL's userinfo, a query parameter).
 *
 * Objects are redacted by key where they are built (src/config/load.ts `redactedConfig`, the logger's `redact`
 * paths below); text by this module. Error messages that name a URL name it through `redactUrl`.
 */

/** What stands where a secret was. */
export const REDACTED = '[redacted]';

/** Secret values shorter than this are not searched for in free text (see above). */
export const MIN_SEARCHED_LENGTH = 8;

/** pino `redact` paths: log fields that hold a secret by name, whatever their value. */
export const SECRET_LOG_PATHS = [
  'password',
  '*.password',
  'sasl.password',
  '*.sasl.password',
  '*.ssl.key',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

/** `scheme://userinfo@`: the userinfo runs to the last `@` before the path, query or fragment. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>`]*@/gi;

/** A query parameter whose name says it carries a credential, and its value. */
const SECRET_PARAM = /([?&](?:[a-z0-9]*[-_.])*(?:token|secret|password|passwd|pwd|apikey|key|auth|authorization|signature|sig|credentials?)=)[^&#\s"'<>`]*/gi;

const known = new Set<string>();
/** The forms each known secret may take in text, longest first (a longer form may contain a shorter one). */
let searched: string[] = [];

/**
 * Adds this process's secrets (the values of the secret settings, the credentials inside its URLs) to those
 * `redactText` removes from any text. Called once the config is loaded (src/cli/context.ts).
 */
export function rememberSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) {
    if (value === undefined || value.length < MIN_SEARCHED_LENGTH || known.has(value)) continue;
    known.add(value);
  }
  const forms = new Set<string>();
  for (const value of known) {
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
    forms.add(encodeURIComponent(value));
  }
  searched = [...forms].filter((f) => f.length >= MIN_SEARCHED_LENGTH).sort((a, b) => b.length - a.length);
}

/** Text with every URL's userinfo, every credential-like query value and every known secret replaced by `REDACTED`. */
export function redactText(text: string): string {
  let out = text;
  for (const form of searched) if (out.includes(form)) out = out.split(form).join(REDACTED);
  if (out.includes('://')) out = out.replace(USERINFO, `$1${REDACTED}@`);
  if (out.includes('=')) out = out.replace(SECRET_PARAM, `$1${REDACTED}`);
  return out;
}

/** A URL fit to show: its userinfo and credential-like query values replaced by `REDACTED`. */
export function redactUrl(url: string | URL): string {
  return redactText(String(url));
}

/**
 * The secrets a URL carries (its userinfo, whole and its password alone, raw and decoded; its credential-like query
 * values), for `rememberSecrets`.
 */
export function secretsInUrl(url: string): string[] {
  const out: string[] = [];
  for (const m of url.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/([^\s/?#"'<>`]*)@/gi)) {
    const userinfo = m[1]!;
    const colon = userinfo.indexOf(':');
    const password = colon < 0 ? '' : userinfo.slice(colon + 1);
    out.push(userinfo, safeDecode(userinfo));
    if (password !== '') out.push(password, safeDecode(password));
  }
  for (const m of url.matchAll(SECRET_PARAM)) {
    const value = m[0].slice(m[1]!.length);
    if (value !== '') out.push(value, safeDecode(value));
  }
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
