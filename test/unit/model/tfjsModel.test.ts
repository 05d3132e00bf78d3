import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { borehole, sampleBoreholeInputs } from '../../../src/model/borehole.js';
import { featurize, predictFirstOutput } from '../../../src/model/evaluate.js';
import type { BackendName } from '../../../src/model/backendNames.js';
import type { ModelRuntime } from '../../../src/model/model.js';
import { loadModel } from '../../../src/model/tfjsModel.js';
import { BOREHOLE_DIR, boreholeCopy, linearGraphModel, tempDir } from './fixtures.js';

function isCode(code: string, message?: RegExp) {
  return (err: unknown) => err instanceof StreamserveError && err.code === code && (message === undefined || message.test(err.message));
}

// tfjs has one active backend per process, so each backend's models are loaded, used and closed in turn.
for (const backend of ['cpu', 'wasm'] as const satisfies readonly BackendName[]) {
  describe(`borehole model on ${backend}`, () => {
    let model: ModelRuntime;
    before(async () => {
      model = await loadModel({ dir: BOREHOLE_DIR, device: backend });
    });
    after(() => model.close());

    it('reports its runtime, widths and signature', () => {
      assert.equal(model.runtime, `tfjs-${backend}`);
      assert.equal(model.inputWidth, 8);
      assert.equal(model.outputWidth, 1);
      assert.equal(model.signature.name, 'borehole');
    });

    it('predicts within 2 % of the true flow rate for 400 seeded random inputs', async () => {
      const inputs = sampleBoreholeInputs(400, 20240601);
      const predicted = await predictFirstOutput(model, inputs, 64);
      inputs.forEach((input, i) => {
        const truth = borehole(input);
        const ape = Math.abs((predicted[i] as number) - truth) / truth;
        assert.ok(ape <= 0.02, `input ${i}: predicted ${predicted[i]}, true ${truth} (${(ape * 100).toFixed(2)} %)`);
      });
    });

    it('gives the same row the same output whatever the batch around it', async () => {
      const inputs = sampleBoreholeInputs(33, 5);
      const batch = await model.predict(featurize(model, inputs), inputs.length);
      const alone = await model.predict(featurize(model, inputs.slice(32)), 1);
      assert.equal(batch.length, 33);
      assert.ok(Math.abs((batch[32] as number) - (alone[0] as number)) < 1e-5);
    });

    it('rejects, without throwing synchronously, a buffer of the wrong size', async () => {
      let pending: Promise<Float32Array> | undefined;
      assert.doesNotThrow(() => {
        pending = model.predict(new Float32Array(8 * 3 - 1), 3);
      });
      await assert.rejects(pending as Promise<Float32Array>, isCode(ErrorCodes.INFERENCE_FAILED, /24/));
      await assert.rejects(model.predict(new Float32Array(8), 2), isCode(ErrorCodes.INFERENCE_FAILED));
      assert.deepEqual(await model.predict(new Float32Array(0), 0), new Float32Array(0));
    });
  });
}

describe('loadModel failures', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    scratch = await tempDir('model');
  });
  after(() => scratch.remove());

  it('CONFIG_INVALID naming the tfjs backends when the device is not one', async () => {
    await assert.rejects(loadModel({ dir: BOREHOLE_DIR, device: 'gpu' }), isCode(ErrorCodes.CONFIG_INVALID, /"gpu".*tensorflow, wasm, cpu/));
  });

  it('MODEL_LOAD_FAILED naming the path when the directory is missing', async () => {
    const missing = join(scratch.path, 'no-such-model');
    await assert.rejects(loadModel({ dir: missing, device: 'cpu' }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /no-such-model/));
  });

  it('SIGNATURE_INVALID naming both numbers when the signature lists fewer inputs than the model takes', async () => {
    const dir = await boreholeCopy(join(scratch.path, 'seven-inputs'), (s) => {
      (s['inputs'] as unknown[]).pop();
    });
    await assert.rejects(loadModel({ dir, device: 'cpu' }), isCode(ErrorCodes.SIGNATURE_INVALID, /8 input columns.*lists 7 inputs/));
  });

  it('SIGNATURE_INVALID naming both numbers when the signature lists more outputs than the model has', async () => {
    const dir = await boreholeCopy(join(scratch.path, 'two-outputs'), (s) => {
      (s['outputs'] as unknown[]).push({ field: 'extra' });
    });
    await assert.rejects(loadModel({ dir, device: 'cpu' }), isCode(ErrorCodes.SIGNATURE_INVALID, /1 output columns.*takes 2 output columns/));
  });

  it('SIGNATURE_INVALID when signature.json is missing', async () => {
    const dir = await boreholeCopy(join(scratch.path, 'no-signature'));
    await rm(join(dir, 'signature.json'));
    await assert.rejects(loadModel({ dir, device: 'cpu' }), isCode(ErrorCodes.SIGNATURE_INVALID));
  });

  it('MODEL_LOAD_FAILED naming the file when model.json is corrupt, a shard is missing or escapes the directory', async () => {
    const corrupt = await boreholeCopy(join(scratch.path, 'corrupt'));
    await writeFile(join(corrupt, 'model.json'), '{"modelTopology": ');
    await assert.rejects(loadModel({ dir: corrupt, device: 'cpu' }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /corrupt/));

    const noShard = await boreholeCopy(join(scratch.path, 'no-shard'));
    await rm(join(noShard, 'weights.bin'));
    await assert.rejects(loadModel({ dir: noShard, device: 'cpu' }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /weights\.bin/));

    const escaping = await boreholeCopy(join(scratch.path, 'escaping'));
    const json = JSON.parse(await readFile(join(escaping, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    (json.weightsManifest[0] as { paths: string[] }).paths = ['../no-shard/weights.bin'];
    await writeFile(join(escaping, 'model.json'), JSON.stringify(json));
    await assert.rejects(loadModel({ dir: escaping, device: 'cpu' }), isCode(ErrorCodes.MODEL_LOAD_FAILED, /outside/));
  });

  it('MODEL_LOAD_FAILED when the weights are truncated', async () => {
    const dir = await boreholeCopy(join(scratch.path, 'truncated'));
    const bytes = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), bytes.subarray(0, bytes.length - 100));
    await assert.rejects(loadModel({ dir, device: 'cpu' }), isCode(ErrorCodes.MODEL_LOAD_FAILED));
  });
});

describe('graph models', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    scratch = await tempDir('graph');
  });
  after(() => scratch.remove());

  it('loads a converter-format graph model, probes its output width and predicts with it', async () => {
    const { dir, weights, bias } = await linearGraphModel(join(scratch.path, 'linear'));
    const model = await loadModel({ dir, device: 'cpu' });
    try {
      assert.deepEqual([model.inputWidth, model.outputWidth], [8, 1]);
      const rows = Float32Array.from({ length: 16 }, (_, i) => (i % 8) / 10 + Math.floor(i / 8));
      const out = await model.predict(rows, 2);
      for (let r = 0; r < 2; r++) {
        const expected = weights.reduce((sum, w, j) => sum + w * (rows[r * 8 + j] as number), bias);
        assert.ok(Math.abs((out[r] as number) - expected) < 1e-4, `row ${r}: ${out[r]} vs ${expected}`);
      }
    } finally {
      await model.close();
    }
  });

  it('SIGNATURE_INVALID when a graph model and its signature disagree on the input width', async () => {
    const { dir } = await linearGraphModel(join(scratch.path, 'linear-bad'));
    const path = join(dir, 'signature.json');
    const signature = JSON.parse(await readFile(path, 'utf8')) as { inputs: unknown[] };
    signature.inputs.push({ field: 'z' });
    await writeFile(path, JSON.stringify(signature));
    await assert.rejects(loadModel({ dir, device: 'cpu' }), isCode(ErrorCodes.SIGNATURE_INVALID, /8 input columns.*lists 9 inputs/));
  });
});

describe('close', () => {
  it('is idempotent and later predictions reject', async () => {
    const model = await loadModel({ dir: BOREHOLE_DIR, device: 'cpu' });
    await Promise.all([model.close(), model.close()]);
    await model.close();
    await assert.rejects(model.predict(new Float32Array(8), 1), isCode(ErrorCodes.INFERENCE_FAILED, /closed/));
  });
});
