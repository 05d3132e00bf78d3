import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BOREHOLE_FIELDS } from '../../../src/model/borehole.js';
import { loadSignature } from '../../../src/model/signature.js';
import { trainBorehole, type TrainOptions } from '../../../src/model/train.js';
import { tempDir } from './fixtures.js';

// Tiny runs: these check the mechanics (files, determinism, acceptance), not accuracy — the committed weights
// and tfjsModel.test.ts cover accuracy.
const tiny = { samples: 512, epochs: 2, batchSize: 64, heldoutSamples: 200, backend: 'cpu' } as const satisfies Partial<TrainOptions>;

describe('trainBorehole', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    scratch = await tempDir('train');
  });
  after(() => scratch.remove());

  it('writes model.json, weights.bin and a signature with provenance, and the same files on a second run', async () => {
    const lines: string[] = [];
    const first = join(scratch.path, 'first');
    const report = await trainBorehole({ ...tiny, outDir: first, seed: 3, maxMape: 1, log: (line) => lines.push(line) });
    assert.equal(report.accepted, true);
    assert.equal(report.backend, 'cpu');
    assert.equal(report.heldoutSamples, 200);
    assert.ok(report.mape > 0 && report.maxApe >= report.mape);
    assert.ok(lines.some((l) => l.includes('held-out MAPE')));
    assert.deepEqual((await readdir(first)).sort(), ['model.json', 'signature.json', 'weights.bin']);
    assert.deepEqual((await readdir(scratch.path)).sort(), ['first'], 'no scratch directory is left behind');

    const signature = await loadSignature(join(first, 'signature.json'));
    assert.deepEqual(signature.inputs.map((c) => c.field), [...BOREHOLE_FIELDS]);
    assert.equal(signature.training?.['seed'], 3);
    assert.equal(signature.training?.['heldoutMape'], Number(report.mape.toPrecision(4)));

    const second = join(scratch.path, 'second');
    await trainBorehole({ ...tiny, outDir: second, seed: 3, maxMape: 1 });
    for (const file of ['model.json', 'weights.bin', 'signature.json']) {
      assert.deepEqual(await readFile(join(second, file)), await readFile(join(first, file)), `${file} differs between runs`);
    }
  });

  it('rejects a model above maxMape and leaves the output directory untouched', async () => {
    const outDir = join(scratch.path, 'rejected');
    const report = await trainBorehole({ ...tiny, outDir, seed: 3, maxMape: 1e-9 });
    assert.equal(report.accepted, false);
    assert.ok(!(await readdir(scratch.path)).includes('rejected'));
  });

  it('refuses nonsense sizes before training', async () => {
    await assert.rejects(trainBorehole({ ...tiny, outDir: join(scratch.path, 'x'), epochs: 0 }), RangeError);
  });
});
