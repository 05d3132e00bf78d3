/**
 * Python clients that check streamserve's wire contracts with code the project did not write (Triton's client for
 * the Open Inference Protocol, ...): `test/python/requirements-<name>.txt` in `.cache/venv-<name>`, made on first
 * use by scripts/python.ts. A failure to install fails the test that needs it: it is never skipped.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPython as run, venvWith } from '../../scripts/python.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The venv `bin/` directory with test/python/requirements-<name>.txt installed. */
export function pythonWith(name: string): Promise<string> {
  return venvWith(join(root, 'test', 'python', `requirements-${name}.txt`), join(root, '.cache', `venv-${name}`));
}

/** Runs a script of test/python/ with a venv from `pythonWith`; resolves with its stdout. */
export function runPython(bin: string, script: string, args: string[], timeoutMs?: number): Promise<string> {
  return run(bin, join(root, 'test', 'python', script), args, timeoutMs);
}
