import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { version_layers } from '@tensorflow/tfjs-layers';

/**
 * TensorFlow.js model artefacts on the local filesystem. Pure TensorFlow.js has no file:// handler (only
 * tfjs-node registers one), so loading and saving go through these IOHandlers. The layout is the one
 * tensorflowjs_converter writes: `model.json` (topology + weightsManifest) and weight shards next to it.
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export type ModelFormat = 'layers-model' | 'graph-model';

export interface ModelFile {
  readonly path: string;
  readonly json: tf.io.ModelJSON;
  readonly format: ModelFormat;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tells a Keras/layers model from a graph model. The converter writes `format`; older files omit it, so fall
 * back to the topology's shape (a GraphDef has `node`, a Keras config has `class_name`/`model_config`).
 */
function formatOf(json: Record<string, unknown>, path: string): ModelFormat {
  const declared = json['format'];
  if (declared === 'layers-model' || declared === 'graph-model') return declared;
  if (declared !== undefined) throw new Error(`${path}: unsupported format ${JSON.stringify(declared)}`);
  const topology = json['modelTopology'];
  if (isRecord(topology) && Array.isArray(topology['node'])) return 'graph-model';
  return 'layers-model';
}

/** Reads and checks `<dir>/model.json`. Throws plain Errors naming the file; the caller adds the error code. */
export async function readModelJSON(dir: string): Promise<ModelFile> {
  const path = join(dir, MODEL_JSON);
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!isRecord(parsed) || !isRecord(parsed['modelTopology'])) {
    throw new Error(`${path} has no modelTopology object; is it a TensorFlow.js model.json?`);
  }
  const manifest = parsed['weightsManifest'];
  if (manifest !== undefined && !Array.isArray(manifest)) throw new Error(`${path}: weightsManifest is not an array`);
  const json = parsed as unknown as tf.io.ModelJSON;
  return { path, json, format: formatOf(parsed, path) };
}

/** Resolves a shard path from the manifest, refusing paths that leave the model directory. */
function shardPath(dir: string, shard: string): string {
  const full = resolve(dir, shard);
  const rel = relative(resolve(dir), full);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`weight shard ${shard} is outside ${dir}`);
  return full;
}

async function readShards(dir: string, manifest: tf.io.WeightsManifestConfig) {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  // Weight data is the concatenation of all shards of all groups, in manifest order; specs follow suit.
  for (const group of manifest) {
    for (const shard of group.paths) buffers.push(await readFile(shardPath(dir, shard)));
    specs.push(...group.weights);
  }
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    data.set(b, offset);
    offset += b.byteLength;
  }
  return [specs, data.buffer] as [tf.io.WeightsManifestEntry[], ArrayBuffer];
}

/** An IOHandler that loads an already-read model.json and its shards from `dir`. */
export function fileLoadHandler(dir: string, model: ModelFile): tf.io.IOHandler {
  return {
    load: () => tf.io.getModelArtifactsForJSON(model.json, (manifest) => readShards(dir, manifest)),
  };
}

/**
 * An IOHandler that writes `<dir>/model.json` and one `<dir>/weights.bin` shard. Files are written under temporary
 * names and renamed, so a reader never sees a model.json whose weights belong to another run.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology instanceof ArrayBuffer) throw new Error('binary GraphDef topologies are not supported');
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json: tf.io.ModelJSON = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${version_layers}`,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      };
      await mkdir(dir, { recursive: true });
      const tmpWeights = join(dir, `.${WEIGHTS_BIN}.tmp`);
      const tmpJson = join(dir, `.${MODEL_JSON}.tmp`);
      await writeFile(tmpWeights, new Uint8Array(weights));
      await writeFile(tmpJson, `${JSON.stringify(json, null, 1)}\n`);
      await rename(tmpWeights, join(dir, WEIGHTS_BIN));
      await rename(tmpJson, join(dir, MODEL_JSON));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(json.modelTopology).length,
          weightSpecsBytes: JSON.stringify(json.weightsManifest).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}
