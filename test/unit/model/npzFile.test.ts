import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layerArrays } from '../../../src/model/denseNetwork.js';
import { loadNumpyModel } from '../../../src/model/numpyRuntime.js';
import { parseNpz } from '../../../src/model/npzFile.js';

/** A .npy file (format 1.0) of float64 or float32 values. */
function npy(shape: number[], values: number[], descr: '<f4' | '<f8' = '<f8', fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const size = descr === '<f4' ? 4 : 8;
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const view = new DataView(out.buffer, 10 + header.length);
  values.forEach((v, i) => (size === 4 ? view.setFloat32(i * 4, v, true) : view.setFloat64(i * 8, v, true)));
  return out;
}

describe('NumPy .npz weights', () => {
  it('reads named float64 and float32 arrays, stored or compressed, C or Fortran order', () => {
    const stored = parseNpz(zipSync({ 'W0.npy': npy([2, 3], [1, 2, 3, 4, 5, 6]), 'b0.npy': npy([3], [0.5, 0, -0.5], '<f4') }, { level: 0 }));
    assert.deepEqual(stored.get('W0')!.shape, [2, 3]);
    assert.deepEqual([...stored.get('W0')!.data], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...stored.get('b0')!.data], [0.5, 0, -0.5]);
    // the same matrix in Fortran order, deflated (np.savez_compressed)
    const fortran = parseNpz(zipSync({ 'W0.npy': npy([2, 3], [1, 4, 2, 5, 3, 6], '<f8', true) }, { level: 6 }));
    assert.deepEqual([...fortran.get('W0')!.data], [1, 2, 3, 4, 5, 6]);
  });

  it('finds layers as W0/b0…, W1/b1… or arr_0, arr_1, … and evaluates x·W + b with the named activations', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'streamserve-npz-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const signature = { name: 'n', version: '1', inputs: [{ field: 'a' }, { field: 'b' }], outputs: [{ field: 'y' }], activations: ['relu', 'identity'] };
    await writeFile(join(dir, 'signature.json'), JSON.stringify(signature));
    const w0 = npy([2, 2], [1, 0, 0, 1]);
    const b0 = npy([2], [0, -10]);
    const w1 = npy([2, 1], [1, 1]);
    const b1 = npy([1], [0.5]);
    for (const files of [
      { 'W0.npy': w0, 'b0.npy': b0, 'W1.npy': w1, 'b1.npy': b1 },
      { 'W1.npy': w0, 'b1.npy': b0, 'W2.npy': w1, 'b2.npy': b1 },
      { 'arr_0.npy': w0, 'arr_1.npy': b0, 'arr_2.npy': w1, 'arr_3.npy': b1 },
    ]) {
      await writeFile(join(dir, 'model.npz'), zipSync(files));
      const model = await loadNumpyModel({ dir, device: 'cpu' });
      // row (3, 4): relu(3, 4 - 10) = (3, 0) → 3 + 0 + 0.5
      assert.deepEqual([...(await model.predict(Float32Array.of(3, 4, 1, 20), 2))], [3.5, 11.5]);
      assert.equal(model.runtime, 'numpy-tfjs-cpu');
      await model.close();
    }
  });

  it('says what is missing or does not fit', () => {
    assert.throws(() => layerArrays(parseNpz(zipSync({ 'W0.npy': npy([1, 1], [1]) }))), /layer 0 has W0 but no b0/);
    assert.throws(() => layerArrays(parseNpz(zipSync({ 'kernel.npy': npy([1, 1], [1]) }))), /no layer arrays: expected W0, b0.*it holds kernel/);
    assert.throws(() => parseNpz(zipSync({ 'W0.npy': new Uint8Array(20) })), /W0: not a \.npy array/);
    assert.throws(() => parseNpz(new Uint8Array([1, 2, 3])), /not a \.npz/);
  });
});
