/**
 * Where onnxruntime-node's native binding cannot load, the ONNX runtime serves the model with onnxruntime-web
 * (WebAssembly), says so in the log and names itself `onnx-wasm`. The native package is made unloadable for one child
 * process by a resolve hook (test/fixtures/onnxFallback/withoutNative.mjs).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

async function load(withoutNative: boolean): Promise<{ runtime: string; label: number; warnings: string[] }> {
  const hooks = withoutNative ? ['--import', './test/fixtures/onnxFallback/withoutNative.mjs'] : [];
  const { stdout } = await run(process.execPath, ['--import', 'tsx', ...hooks, 'test/fixtures/onnxFallback/load.ts'], { cwd: ROOT, timeout: 60_000 });
  return JSON.parse(stdout) as { runtime: string; label: number; warnings: string[] };
}

test('without the native binding, ONNX models are served by onnxruntime-web (onnx-wasm), with a warning', async () => {
  const fallback = await load(true);
  assert.equal(fallback.runtime, 'onnx-wasm');
  assert.equal(fallback.label, 0, 'setosa, as with the native binding');
  assert.match(fallback.warnings.join('\n'), /onnxruntime-node cannot load here; serving the ONNX model with onnxruntime-web/);

  const native = await load(false);
  assert.equal(native.runtime, 'onnx-cpu');
  assert.deepEqual(native.warnings, []);
});
