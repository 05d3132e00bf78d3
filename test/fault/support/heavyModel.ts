/**
 * A deliberately heavy model: the borehole signature over a deep, wide MLP (untrained: the scenario is about time,
 * not accuracy). A call on it keeps whichever thread runs it busy, synchronously, as a large real model would.
 * Its batch size is calibrated so that one model call takes about a given time on this machine.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend } from '../../../src/model/backend.js';
import { fileSaveHandler } from '../../../src/model/fileIO.js';
import { loadModel } from '../../../src/model/tfjsModel.js';

export interface HeavyModel {
  dir: string;
  /** Rows per call that take about `callMs` here. */
  batchSize: number;
  /** Measured time of one call of `batchSize` rows in this process (ms). */
  measuredMs: number;
}

const WIDTH = 512;
const DEPTH = 12;

/** Writes the heavy model into `dir` (model.json, weights, signature.json) and calibrates its batch size. */
export async function writeHeavyModel(dir: string, callMs: number, referenceDir = 'weights/borehole'): Promise<HeavyModel> {
  await useBackend('wasm');
  const network = tfl.sequential();
  network.add(tfl.layers.dense({ inputShape: [8], units: WIDTH, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  for (let i = 1; i < DEPTH; i++) {
    network.add(tfl.layers.dense({ units: WIDTH, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 + i }) }));
  }
  // Small outputs: the signature's log output transform keeps them finite.
  network.add(tfl.layers.dense({ units: 1, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 99 }) }));
  await network.save(fileSaveHandler(dir));
  network.dispose();
  const signature = JSON.parse(await readFile(join(referenceDir, 'signature.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'signature.json'), JSON.stringify({ ...signature, name: 'heavy', version: 'fault-suite', training: undefined }));

  // Calibrate: time a call, scale the batch towards the wanted call time (larger batches run faster per row).
  const model = await loadModel({ dir, device: 'wasm', warmupBatchSizes: [256] });
  try {
    let batchSize = 256;
    let measuredMs = 0;
    for (let round = 0; round < 4; round++) {
      const rows = new Float32Array(batchSize * model.inputWidth).fill(0.1);
      const started = performance.now();
      await model.predict(rows, batchSize);
      measuredMs = Math.round(performance.now() - started);
      if (Math.abs(measuredMs - callMs) < callMs * 0.15) break;
      batchSize = Math.max(16, Math.min(65_536, Math.round((batchSize * callMs) / Math.max(1, measuredMs))));
    }
    return { dir, batchSize, measuredMs };
  } finally {
    await model.close();
  }
}

