import assert from 'node:assert/strict';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { loadRuntime } from '../../../src/model/runtimes.js';
import { BOREHOLE_DIR, tempDir } from './fixtures.js';

function isCode(code: string, message: RegExp) {
  return (err: unknown) => err instanceof StreamserveError && err.code === code && message.test(err.message);
}

describe('loadRuntime', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    scratch = await tempDir('runtimes');
  });
  after(() => scratch.remove());

  it('serves a directory holding model.json with TensorFlow.js on the device asked for', async () => {
    const model = await loadRuntime({ dir: BOREHOLE_DIR, device: 'cpu', warmupBatchSizes: [1] });
    try {
      assert.equal(model.runtime, 'tfjs-cpu');
      assert.equal(model.signature.name, 'borehole');
      const out = await model.predict(new Float32Array(2 * model.inputWidth), 2);
      assert.equal(out.length, 2 * model.outputWidth);
      assert.ok(out.every(Number.isFinite));
    } finally {
      await model.close();
    }
  });

  it('MODEL_LOAD_FAILED naming the directory and the files looked for when it holds no model', async () => {
    const dir = join(scratch.path, 'signature-only');
    await mkdir(dir);
    await copyFile(join(BOREHOLE_DIR, 'signature.json'), join(dir, 'signature.json'));
    await writeFile(join(dir, 'model.h5'), 'not a format streamserve serves');
    await assert.rejects(loadRuntime({ dir }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /signature-only.*model\.json \(tfjs\)/));
  });

  it('MODEL_LOAD_FAILED naming the directory when it is missing', async () => {
    await assert.rejects(loadRuntime({ dir: join(scratch.path, 'no-such-model') }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /no-such-model.*missing/));
  });
});
