/**
 * Python virtual environments for the tests' and the benchmark's third-party clients and baselines (Triton's client,
 * a Flask/Gunicorn service): made under .cache/ from a pinned requirements file on first use, and reused while that
 * file is unchanged. A failed install throws, naming the file: a test or a benchmark that needs it fails, never skips.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The `bin/` directory of `venv` with `requirements` installed (python3 -m venv, pip install -r). */
export async function venvWith(requirements: string, venv: string): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const bin = join(venv, 'bin');
  const stamp = join(venv, '.requirements-sha256');
  if (existsSync(join(bin, 'python')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return bin;
  rmSync(venv, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
    await run(join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`could not install ${requirements} into ${venv} (python3 -m venv, pip install -r): ${stderr?.slice(-2000) ?? String(err)}`);
  }
  writeFileSync(stamp, hash);
  return bin;
}

/** Runs `python script args` with a venv's interpreter; resolves with stdout, rejects with the tail of stderr. */
export async function runPython(bin: string, script: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(join(bin, 'python'), [script, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`${script} failed: ${stderr?.slice(-3000) ?? String(err)}${stdout ? `\nstdout: ${stdout.slice(-1000)}` : ''}`);
  }
}
