import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The committed example model; tests copy it before changing anything. */
export const BOREHOLE_DIR = new URL('../../../weights/borehole/', import.meta.url).pathname;

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `streamserve-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Copies the borehole model to `dir` and lets `edit` rewrite its signature.json. */
export async function boreholeCopy(dir: string, edit?: (signature: Record<string, unknown>) => void): Promise<string> {
  await cp(BOREHOLE_DIR, dir, { recursive: true });
  if (edit !== undefined) {
    const path = join(dir, 'signature.json');
    const signature = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    edit(signature);
    await writeFile(path, JSON.stringify(signature));
  }
  return dir;
}

/**
 * A hand-written TF graph model (the tensorflowjs_converter "graph-model" format): y = x·w + b for 8 inputs,
 * w = [1..8], b = 0.5. Its output node declares no shape, so the loader must probe the output width.
 */
export async function linearGraphModel(dir: string): Promise<{ dir: string; weights: number[]; bias: number }> {
  const weights = [1, 2, 3, 4, 5, 6, 7, 8];
  const bias = 0.5;
  const dim = (...sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
  const modelJson = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'hand-written test fixture',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dim(-1, 8) } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim(8, 1) } } } },
        { name: 'b', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim(1) } } } },
        { name: 'mm', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
        { name: 'y', op: 'BiasAdd', input: ['mm', 'b'], attr: { T: { type: 'DT_FLOAT' }, data_format: { s: Buffer.from('NHWC').toString('base64') } } },
      ],
      library: {},
      versions: { producer: 1 },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'w', shape: [8, 1], dtype: 'float32' },
          { name: 'b', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array(new Float32Array([...weights, bias]).buffer));
  const signature = {
    name: 'linear',
    version: '0.0.1',
    inputs: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((field) => ({ field })),
    outputs: [{ field: 'y' }],
  };
  await writeFile(join(dir, 'signature.json'), JSON.stringify(signature));
  return { dir, weights, bias };
}
