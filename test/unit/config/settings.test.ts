import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../../../src/config/load.js';
import { settings, settingNames } from '../../../src/config/settings.js';
import { repoPath } from '../support.js';

describe('settings', () => {
  test('env vars and flags are unique and well-formed', () => {
    const envs = settingNames.map((n) => settings[n].env);
    const flags = settingNames.map((n) => settings[n].flag);
    assert.equal(new Set(envs).size, envs.length, 'env vars unique');
    assert.equal(new Set(flags).size, flags.length, 'flags unique');
    for (const env of envs) assert.match(env, /^[A-Z][A-Z0-9_]*$/);
    for (const flag of flags) assert.match(flag, /^[a-z][a-z0-9-]*$/);
  });

  test("README's configuration table has one row per setting with its env var, flag and default", () => {
    const path = repoPath('README.md');
    assert.ok(existsSync(path), 'README.md does not exist');
    const section = readFileSync(path, 'utf8')
      .split(/^## /m)
      .find((s) => s.startsWith('Configuration'));
    assert.ok(section, 'README.md has a "## Configuration" section');
    const rows = new Map<string, string[]>();
    for (const line of section.split('\n')) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      if (cells.length >= 4 && /^`[A-Z0-9_]+`$/.test(cells[1]!)) rows.set(cells[0]!, cells);
    }
    const defaults = loadConfig();
    const problems: string[] = [];
    for (const name of settingNames) {
      const row = rows.get(name);
      if (!row) {
        problems.push(`${name}: no row`);
        continue;
      }
      const { env, flag } = settings[name];
      if (row[1] !== `\`${env}\``) problems.push(`${name}: env ${row[1]} should be \`${env}\``);
      if (row[2] !== `\`--${flag}\``) problems.push(`${name}: flag ${row[2]} should be \`--${flag}\``);
      const value = defaults[name];
      const shown = value === undefined ? '—' : String(value);
      if (row[3] !== shown) problems.push(`${name}: default ${row[3]} should be ${shown}`);
    }
    for (const name of rows.keys()) if (!settingNames.includes(name as never)) problems.push(`${name}: documented but not a setting`);
    assert.deepEqual(problems, []);
  });
});
