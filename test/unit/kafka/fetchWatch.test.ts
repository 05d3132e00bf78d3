import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchWatch } from '../../../src/kafka/fetchWatch.js';

function watch() {
  let now = 1_000_000;
  const w = new FetchWatch({ stallMs: 5_000, forgetMs: 60_000, now: () => now });
  return { w, advance: (ms: number) => (now += ms) };
}

test('fetches answered in turn, however long the input is idle between them: no stall', () => {
  const { w, advance } = watch();
  for (let i = 0; i < 100; i++) {
    w.started(1);
    advance(500);
    w.completed(1);
    advance(10_000); // handling the batch, or waiting: no fetch outstanding
  }
  assert.deepEqual(w.stalled(), []);
});

test('a fetch unanswered past stallMs stalls its node; an answer clears it', () => {
  const { w, advance } = watch();
  w.started(1);
  w.completed(1);
  w.started(2);
  w.completed(2);
  w.started(1);
  advance(4_999);
  assert.deepEqual(w.stalled(), [], 'not before stallMs');
  advance(1);
  assert.deepEqual(w.stalled(), [{ nodeId: 1, sinceMs: 5_000 }]);
  w.completed(1);
  assert.deepEqual(w.stalled(), []);
});

test('retries that keep failing (starts without answers) stay stalled, counted from the last answer', () => {
  const { w, advance } = watch();
  w.started(3);
  w.completed(3);
  for (let i = 0; i < 20; i++) {
    advance(1_000);
    w.started(3); // kafkajs retries: a new fetch starts, none completes
  }
  assert.deepEqual(w.stalled(), [{ nodeId: 3, sinceMs: 20_000 }]);
});

test('a node no longer fetched from is left out after forgetMs; reset forgets every node', () => {
  const { w, advance } = watch();
  w.started(1);
  advance(59_999);
  assert.equal(w.stalled().length, 1, 'a hung fetch counts until forgetMs');
  advance(1);
  assert.deepEqual(w.stalled(), [], 'no start for forgetMs: the node left');

  w.started(2);
  advance(10_000);
  assert.equal(w.stalled().length, 1);
  w.reset();
  assert.deepEqual(w.stalled(), []);
  w.completed(2); // an answer for a node started before the reset is ignored
  assert.deepEqual(w.stalled(), []);
});

test('a node seen for the first time counts from its first start', () => {
  const { w, advance } = watch();
  w.started(7);
  advance(4_000);
  assert.deepEqual(w.stalled(), []);
  advance(1_000);
  assert.deepEqual(w.stalled(), [{ nodeId: 7, sinceMs: 5_000 }]);
});
