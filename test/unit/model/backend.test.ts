import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { availableBackends, backendInfo, useBackend } from '../../../src/model/backend.js';

function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

describe('backend', () => {
  it('lists wasm and cpu, and tensorflow only when tfjs-node is installed', () => {
    const available = availableBackends();
    assert.ok(available.includes('wasm') && available.includes('cpu'));
    assert.equal(available.includes('tensorflow'), tfjsNodeInstalled());
  });

  it('selects wasm (with SIMD on Node 20) and cpu, idempotently, and reports the backend in effect', async () => {
    assert.equal(await useBackend('wasm'), 'wasm');
    assert.equal(await useBackend('wasm'), 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(await backendInfo(), { name: 'wasm', wasmSimd: true });
    const [a, b] = await Promise.all([useBackend('cpu'), useBackend('cpu')]);
    assert.deepEqual([a, b, tf.getBackend()], ['cpu', 'cpu', 'cpu']);
    assert.equal(await useBackend('wasm'), 'wasm');
  });

  it('refuses tensorflow with BACKEND_UNAVAILABLE and an install hint when tfjs-node is missing', { skip: tfjsNodeInstalled() }, async () => {
    const before = tf.getBackend();
    await assert.rejects(
      useBackend('tensorflow'),
      (err: unknown) => err instanceof StreamserveError && err.code === ErrorCodes.BACKEND_UNAVAILABLE && /npm install @tensorflow\/tfjs-node/.test(err.message),
    );
    assert.equal(tf.getBackend(), before, 'a failed selection leaves the active backend alone');
  });
});
