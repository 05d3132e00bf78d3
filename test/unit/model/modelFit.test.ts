/**
 * A signature checked against the model's own inputs and outputs at load: each runtime refuses one written for
 * another model, with a message naming what disagrees; a directory holding several models is refused naming them.
 */
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { loadRuntime } from '../../../src/model/runtimes.js';
import { tempDir } from './fixtures.js';

const ONNX = 'weights/borehole-onnx/1.0.0';
const IRIS = 'weights/iris/1.0.0';
const NPZ = 'weights/borehole-npz/1.0.0';

function refused(code: string, ...messages: RegExp[]) {
  return (err: unknown) => {
    assert.ok(err instanceof StreamserveError, String(err));
    assert.equal(err.code, code, err.message);
    for (const m of messages) assert.match(err.message, m);
    return true;
  };
}

describe('a signature against its model', () => {
  let scratch: Awaited<ReturnType<typeof tempDir>>;
  let n = 0;
  before(async () => {
    scratch = await tempDir('model-fit');
  });
  after(() => scratch.remove());

  /** A copy of `model`'s directory with `signatureFrom`'s signature, edited. */
  async function mismatch(model: string, signatureFrom: string, edit?: (s: Record<string, unknown>) => void): Promise<string> {
    const dir = join(scratch.path, `m${n++}`);
    await cp(model, dir, { recursive: true });
    const signature = JSON.parse(await readFile(join(signatureFrom, 'signature.json'), 'utf8')) as Record<string, unknown>;
    edit?.(signature);
    await writeFile(join(dir, 'signature.json'), JSON.stringify(signature));
    return dir;
  }

  it('ONNX: the borehole signature on the iris classifier names the input columns and the outputs that disagree', async () => {
    const dir = await mismatch(IRIS, ONNX);
    await assert.rejects(
      loadRuntime({ dir }),
      refused(ErrorCodes.SIGNATURE_INVALID, /model input "input" takes 4 columns but signature.json feeds it 8 \(rw, r, Tu/, /reads tensor "variable", which is not an output of the model \(its outputs: label, probabilities\)/),
    );
  });

  it('ONNX: the iris signature on the borehole regressor', async () => {
    const dir = await mismatch(ONNX, IRIS);
    await assert.rejects(loadRuntime({ dir }), refused(ErrorCodes.SIGNATURE_INVALID, /takes 8 columns but signature.json feeds it 4/, /"label", which is not an output/));
  });

  it('ONNX: classes that are not the model\'s kind or count, a tensor that is not an input', async () => {
    const ints = await mismatch(IRIS, IRIS, (s) => {
      const outputs = s.outputs as Record<string, unknown>[];
      outputs[0]!.classes = [0, 1, 2];
      outputs[1]!.classes = ['a', 'b'];
      (s.inputs as Record<string, unknown>[])[0]!.tensor = 'x';
    });
    await assert.rejects(
      loadRuntime({ dir: ints }),
      refused(
        ErrorCodes.SIGNATURE_INVALID,
        /"label"\) holds string labels but the signature's classes are integers/,
        /"probabilities"\) has 3 columns but the signature lists 2 classes \(a, b\)/,
        /input column sepal_length reads tensor "x", which is not an input of the model \(its inputs: input\)/,
      ),
    );
  });

  it('ONNX: classes the model never answers are refused at warm-up, not dead-lettered one by one', async () => {
    const dir = await mismatch(IRIS, IRIS, (s) => {
      for (const o of s.outputs as Record<string, unknown>[]) o.classes = ['rose', 'tulip', 'daisy'];
    });
    await assert.rejects(loadRuntime({ dir }), refused(ErrorCodes.MODEL_LOAD_FAILED, /warm-up failed/));
  });

  it('NumPy: activations missing or one too few, inputs that do not chain, outputs wider than the last layer', async () => {
    await assert.rejects(loadRuntime({ dir: await mismatch(NPZ, NPZ, (s) => delete s.activations) }), refused(ErrorCodes.SIGNATURE_INVALID, /needs "activations", one per layer \(3 layers\)/));
    await assert.rejects(loadRuntime({ dir: await mismatch(NPZ, NPZ, (s) => (s.activations = ['tanh', 'identity'])) }), refused(ErrorCodes.SIGNATURE_INVALID, /2 activations for 3 layers/));
    await assert.rejects(loadRuntime({ dir: await mismatch(NPZ, IRIS, (s) => (s.activations = ['tanh', 'tanh', 'softmax'])) }), refused(ErrorCodes.SIGNATURE_INVALID, /remove "tensor"/));
    const narrow = await mismatch(NPZ, NPZ, (s) => (s.inputs = (s.inputs as unknown[]).slice(0, 4)));
    await assert.rejects(loadRuntime({ dir: narrow }), refused(ErrorCodes.SIGNATURE_INVALID, /layer 0: weights take 8 inputs but the signature feeds 4/));
    const wide = await mismatch(NPZ, NPZ, (s) => (s.outputs as unknown[]).push({ field: 'other' }));
    await assert.rejects(loadRuntime({ dir: wide }), refused(ErrorCodes.SIGNATURE_INVALID, /last layer has 1 units but the signature's outputs take 2 \(flow_rate, other\)/));
  });

  it('TensorFlow.js: a label output or a named tensor is refused', async () => {
    const dir = await mismatch('weights/borehole', 'weights/borehole', (s) => {
      s.outputs = [{ field: 'k', kind: 'label', classes: ['a'] }];
    });
    await assert.rejects(loadRuntime({ dir, device: 'cpu' }), refused(ErrorCodes.SIGNATURE_INVALID, /label output\(s\) k need a label tensor/));
  });

  it('a directory holding more than one model is refused naming them', async () => {
    const dir = join(scratch.path, 'two');
    await cp(ONNX, dir, { recursive: true });
    await cp(join(NPZ, 'model.npz'), join(dir, 'model.npz'));
    await assert.rejects(loadRuntime({ dir }), refused(ErrorCodes.MODEL_LOAD_FAILED, /holds model\.onnx \(onnx\), model\.npz \(numpy\); a model directory holds one model/));
  });

  it('a model.onnx that is not ONNX is MODEL_LOAD_FAILED naming the file', async () => {
    const dir = join(scratch.path, 'not-onnx');
    await cp(ONNX, dir, { recursive: true });
    await writeFile(join(dir, 'model.onnx'), 'not a model');
    await assert.rejects(loadRuntime({ dir }), refused(ErrorCodes.MODEL_LOAD_FAILED, /not-onnx: model\.onnx/));
  });
});
