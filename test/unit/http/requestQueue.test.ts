/** Admission, deadlines, callers that leave and closing of HTTP requests (src/http/requestQueue.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes } from '../../../src/errors.js';
import { RequestQueue, ShedError } from '../../../src/http/requestQueue.js';
import type { ScoreBatch } from '../../../src/scorer/scorer.js';
import type { Outcome } from '../../../src/scorer/outcome.js';

/** A scorer that holds every batch until the test answers it. */
function heldScorer() {
  const batches: ScoreBatch[] = [];
  const scorer = {
    healthy: true,
    submit: (b: ScoreBatch) => void batches.push(b),
  };
  const answer = (b: ScoreBatch) => b.done(b.inputs.map((_, i): Outcome => ({ id: `p${i}`, eventTime: 0, outputs: Float64Array.of(i) })));
  return { scorer, batches, answer };
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}` }));
const shed = (p: Promise<unknown>) => p.then(() => assert.fail('resolved'), (e: unknown) => e as ShedError);

test('rows go to the scorer as one urgent http batch and come back in order', async () => {
  const { scorer, batches, answer } = heldScorer();
  const q = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 5000 });
  const p = q.score(rows(3));
  assert.equal(batches.length, 1);
  assert.deepEqual([batches[0]!.urgent, batches[0]!.source, batches[0]!.inputs.length], [true, 'http', 3]);
  assert.deepEqual([q.waiting, q.inFlight], [3, 1]);
  answer(batches[0]!);
  assert.deepEqual((await p).map((o) => (o as { id: string }).id), ['p0', 'p1', 'p2']);
  assert.deepEqual([q.waiting, q.inFlight], [0, 0]);
});

test('past HTTP_MAX_QUEUE waiting rows a request is refused at once: OVERLOADED, 429, Retry-After; a lone large request is admitted', async () => {
  const { scorer, batches, answer } = heldScorer();
  const q = new RequestQueue({ scorer, maxQueue: 4, timeoutMs: 5000 });
  const big = q.score(rows(6)); // nothing waiting: admitted, however large
  const err = await shed(q.score(rows(1)));
  assert.deepEqual([err.code, err.status, err.retryAfterSeconds], [ErrorCodes.OVERLOADED, 429, 1]);
  assert.equal(batches.length, 1, 'the refused request never reached the scorer');
  answer(batches[0]!);
  await big;
  const fits = q.score(rows(4));
  answer(batches[1]!);
  assert.equal((await fits).length, 4);
});

test('a request not answered by its deadline: DEADLINE_EXCEEDED, 504; the caller may shorten it, never lengthen it', async () => {
  const { scorer, batches } = heldScorer();
  const q = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 60_000 });
  const started = Date.now();
  const err = await shed(q.score(rows(2), { timeoutMs: 30 }));
  assert.deepEqual([err.code, err.status], [ErrorCodes.DEADLINE_EXCEEDED, 504]);
  assert.ok(Date.now() - started < 5000);
  assert.equal(batches[0]!.signal?.aborted, true, 'the scorer is told: its unscored rows are skipped');
  assert.deepEqual([q.waiting, q.inFlight], [0, 0], 'its rows no longer count as waiting');
  const short = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 20 });
  assert.equal((await shed(short.score(rows(1), { timeoutMs: 60_000 }))).code, ErrorCodes.DEADLINE_EXCEEDED);
});

test('a caller that goes away: REQUEST_CANCELLED, and the scorer sees the signal', async () => {
  const { scorer, batches } = heldScorer();
  const q = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 60_000 });
  let leave: () => void = () => assert.fail('cancelOn not called');
  const p = shed(q.score(rows(2), { cancelOn: (cancel) => (leave = cancel) }));
  leave();
  assert.equal((await p).code, ErrorCodes.REQUEST_CANCELLED);
  assert.equal(batches[0]!.signal?.aborted, true);
  assert.equal(q.waiting, 0);
});

test('while the model is unavailable: MODEL_UNAVAILABLE, 503, nothing queued', async () => {
  const { scorer, batches } = heldScorer();
  scorer.healthy = false;
  const q = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 5000 });
  const err = await shed(q.score(rows(1)));
  assert.deepEqual([err.code, err.status], [ErrorCodes.MODEL_UNAVAILABLE, 503]);
  assert.equal(batches.length, 0);
});

test('close(): new requests get SHUTTING_DOWN (503); it resolves once those in flight are answered', async () => {
  const { scorer, batches, answer } = heldScorer();
  const q = new RequestQueue({ scorer, maxQueue: 10, timeoutMs: 5000 });
  const inFlight = q.score(rows(2));
  let closed = false;
  const closing = q.close().then(() => (closed = true));
  const err = await shed(q.score(rows(1)));
  assert.deepEqual([err.code, err.status], [ErrorCodes.SHUTTING_DOWN, 503]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'not closed while a request is in flight');
  answer(batches[0]!);
  assert.equal((await inFlight).length, 2, 'the request in flight is answered');
  await closing;
});
