/**
 * Python clients that check streamserve's wire contracts with code the project did not write (Triton's client for
 * the Open Inference Protocol, ...). Each gets a virtual environment under .cache/, made from a pinned requirements
 * file in test/python/ on first use and reused while the file is unchanged. A failure to install fails the test that
 * needs it: it is never skipped.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The Python interpreter of a virtual environment with `test/python/requirements-<name>.txt` installed. */
export async function pythonWith(name: string): Promise<string> {
  const requirements = join(repoRoot, 'test', 'python', `requirements-${name}.txt`);
  const hash = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const venv = join(repoRoot, '.cache', `venv-${name}`);
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.requirements-sha256');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return python;
  rmSync(venv, { recursive: true, force: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', requirements], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`could not install ${requirements} into ${venv} (python3 -m venv, pip install): ${stderr?.slice(-2000) ?? String(err)}`);
  }
  writeFileSync(stamp, hash);
  return python;
}

/** Runs a script of test/python/ with that interpreter; resolves with its stdout, rejects with its stderr. */
export async function runPython(python: string, script: string, args: string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await run(python, [join(repoRoot, 'test', 'python', script), ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`${script} failed: ${stderr?.slice(-3000) ?? String(err)}${stdout ? `\nstdout: ${stdout.slice(-1000)}` : ''}`);
  }
}
