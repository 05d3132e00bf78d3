import { test, describe, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, RecordError, type ErrorCode, type Stage } from '../../../src/errors.js';
import { BOREHOLE_RANGES } from '../../../src/model/borehole.js';
import { scaleInput, unscaleOutput, type Signature } from '../../../src/model/signature.js';
import type { InputFields, Outcome } from '../../../src/scorer/outcome.js';
import { Scorer, type ScorerOptions } from '../../../src/scorer/scorer.js';
import { StubModel, boreholeSignature, goodBorehole, silentLogger, waitFor } from '../support.js';
import { noopObserver } from '../../../src/observer.js';

/** A scorer that hangs fails its test instead of the run. */
const within = { timeout: 10_000 };
/** An rw value inside the valid range that the stub model refuses to score (an `infer` failure). */
const MARK_RW = 0.0777;

type Expected = { kind: 'prediction'; id: string; eventTime: number } | { kind: 'error'; stage: Stage; code: ErrorCode; same?: RecordError };

interface Case {
  input: InputFields | RecordError;
  expected: Expected;
}

/** Fields that fail validation, one per code. */
const INVALID: readonly { code: ErrorCode; fields: InputFields }[] = [
  { code: ErrorCodes.MISSING_FIELD, fields: { Tu: null } },
  { code: ErrorCodes.NOT_A_NUMBER, fields: { Hu: Number.NaN } },
  { code: ErrorCodes.NOT_FINITE, fields: { L: Number.POSITIVE_INFINITY } },
  { code: ErrorCodes.OUT_OF_RANGE, fields: { rw: BOREHOLE_RANGES.rw[1] * 2 } },
];

let signature: Signature;

before(async () => {
  signature = await boreholeSignature();
});

/** Model calls wait until the test lets them through, one at a time; each call's rows are recorded as it starts. */
class GatedModel extends StubModel {
  /** Rows of each call, in call order. */
  readonly calls: Float32Array[][] = [];
  readonly #waiting: (() => void)[] = [];

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Calls let through so far. */
  callsLetThrough = 0;

  /** Lets the oldest held call through. */
  letOneThrough(): void {
    this.callsLetThrough++;
    this.#waiting.shift()!();
  }

  override async predict(rows: Float32Array, count: number): Promise<Float32Array> {
    this.calls.push(Array.from({ length: count }, (_, i) => rows.slice(i * this.inputWidth, (i + 1) * this.inputWidth)));
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return super.predict(rows, count);
  }
}

function markedModel(): StubModel {
  const marked = Math.fround(scaleInput(signature.inputs[0]!, MARK_RW));
  return new StubModel({ signature, failsOn: (row) => row[0] === marked });
}

function makeScorer(t: TestContext, model: StubModel, options: Partial<ScorerOptions> = {}): Scorer {
  const scorer = new Scorer({ model, maxBatchSize: 64, maxBatchDelayMs: 5, logger: silentLogger, inferRetries: 0, ...options });
  t.after(() => scorer.close());
  return scorer;
}

function good(n: number): Case {
  const id = `in-${n}`;
  const eventTime = 1_600_000_000_000 + n;
  return { input: { id, event_time: eventTime, ...goodBorehole(n + 1) }, expected: { kind: 'prediction', id, eventTime } };
}

/** Valid inputs with, when `poison`, validation failures, decode errors already found and rows the model fails on. */
function cases(from: number, count: number, poison = true): Case[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const c = good(n);
    if (!poison) return c;
    const fields = c.input as InputFields;
    if (n % 5 === 1) {
      const invalid = INVALID[n % INVALID.length]!;
      return { input: { ...fields, ...invalid.fields }, expected: { kind: 'error', stage: 'validate', code: invalid.code } };
    }
    if (n % 5 === 3) {
      const error = new RecordError('decode', ErrorCodes.UNDECODABLE_VALUE, `record ${n} is not Avro`);
      return { input: error, expected: { kind: 'error', stage: 'decode', code: error.code, same: error } };
    }
    if (n % 7 === 4) return { input: { ...fields, rw: MARK_RW }, expected: { kind: 'error', stage: 'infer', code: ErrorCodes.INFERENCE_FAILED } };
    return c;
  });
}

/**
 * Submits each chunk as one batch. `answers[b]` are batch b's outcomes; `answered` lists batches as they are
 * answered (a batch answered twice shows twice); `done` resolves once every batch has been answered.
 */
function submitAll(scorer: Scorer, chunks: readonly Case[][]): { answers: Outcome[][]; answered: number[]; done: Promise<void> } {
  const answers: Outcome[][] = [];
  const answered: number[] = [];
  const done = Promise.all(
    chunks.map(
      (chunk, b) =>
        new Promise<void>((resolve) =>
          scorer.submit({
            inputs: chunk.map((c) => c.input),
            done: (outcomes) => {
              answers[b] = outcomes;
              answered.push(b);
              resolve();
            },
          }),
        ),
    ),
  ).then(() => undefined);
  return { answers, answered, done };
}

const chunked = <T>(items: readonly T[], size: number) => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** The model row of a valid input: its fields scaled, in signature order. */
const rowOf = (c: Case) => Float32Array.from(signature.inputs.map((column) => scaleInput(column, (c.input as Record<string, number>)[column.field]!)));
const rowKey = (row: Float32Array) => Array.from(row).join(',');

function assertOutcome(model: StubModel, c: Case, outcome: Outcome | undefined, what: string): void {
  const { expected } = c;
  if (expected.kind === 'prediction') {
    assert.ok(outcome !== undefined && !(outcome instanceof RecordError), `${what} is a prediction (got ${String(outcome)})`);
    const raw = Float32Array.from(model.rawOutputs(rowOf(c)));
    assert.deepEqual(
      { id: outcome.id, eventTime: outcome.eventTime, outputs: Array.from(outcome.outputs) },
      { id: expected.id, eventTime: expected.eventTime, outputs: signature.outputs.map((o, j) => unscaleOutput(o, raw[j]!)) },
      what,
    );
  } else {
    assert.ok(outcome instanceof RecordError, `${what} is an error`);
    assert.equal(outcome.stage, expected.stage, `${what} stage`);
    assert.equal(outcome.code, expected.code, `${what} code`);
    if (expected.same) assert.equal(outcome, expected.same, `${what} is the decode error passed in`);
  }
}

describe('Scorer', () => {
  test('every input gets exactly one outcome, in place: predictions, validation errors, decode errors, model failures', within, async (t) => {
    const model = markedModel();
    const scorer = makeScorer(t, model, { maxBatchSize: 7 });
    const chunks = chunked(cases(0, 80), 6);
    const { answers, answered, done } = submitAll(scorer, chunks);
    await done;
    await scorer.drain();
    assert.deepEqual(answered, chunks.map((_, b) => b), 'each batch answered once, in submission order');
    const kinds = new Set<string>();
    chunks.forEach((chunk, b) => {
      assert.equal(answers[b]!.length, chunk.length, `batch ${b}: one outcome per input`);
      chunk.forEach((c, i) => {
        assertOutcome(model, c, answers[b]![i], `batch ${b} input ${i}`);
        kinds.add(c.expected.kind === 'prediction' ? 'prediction' : c.expected.code);
      });
    });
    assert.deepEqual([...kinds].sort(), ['INFERENCE_FAILED', 'MISSING_FIELD', 'NOT_A_NUMBER', 'NOT_FINITE', 'OUT_OF_RANGE', 'UNDECODABLE_VALUE', 'prediction']);
    assert.ok(Math.max(...model.batchSizes) <= 7);
  });

  test('the model never sees more rows than maxBatchSize, and sees each valid row once', within, async (t) => {
    const seen: string[] = [];
    const model = new StubModel({
      signature,
      outputs: (row) => {
        seen.push(rowKey(row));
        return [row[0]!];
      },
    });
    const scorer = makeScorer(t, model, { maxBatchSize: 4 });
    const all = cases(0, 93).filter((c) => c.expected.kind !== 'error' || c.expected.stage !== 'infer');
    const valid = all.filter((c) => c.expected.kind === 'prediction');
    assert.equal(valid.length, 49, 'valid rows among the invalid ones');
    const { done } = submitAll(scorer, chunked(all, 10));
    await done;
    assert.ok(Math.max(...model.batchSizes) <= 4, `batch sizes ${model.batchSizes.join(',')}`);
    assert.equal(model.batchSizes.reduce((a, b) => a + b, 0), valid.length);
    assert.deepEqual(seen.sort(), valid.map((c) => rowKey(rowOf(c))).sort());
  });

  test('batches are answered in submission order, across model calls', within, async (t) => {
    const scorer = makeScorer(t, markedModel(), { maxBatchSize: 4 });
    const sizes = [1, 9, 3, 4, 2, 11, 1, 6];
    let n = 0;
    const chunks = sizes.map((size) => cases((n += size) - size, size));
    chunks.splice(3, 0, [cases(3, 1)[0]!, cases(8, 1)[0]!]); // a batch of only decode errors: no model call of its own
    const { answered, done } = submitAll(scorer, chunks);
    await done;
    assert.deepEqual(answered, chunks.map((_, b) => b));
  });

  test('urgent inputs go into the next model call ahead of a backlog', within, async (t) => {
    const model = new GatedModel({ signature });
    const scorer = makeScorer(t, model, { maxBatchSize: 4 });
    const backlog = submitAll(scorer, chunked(cases(0, 40, false), 8));
    await waitFor(() => model.waiting === 1, { what: 'the first model call' });
    const urgentCases = cases(100, 2, false);
    let callsWhenAnswered = -1;
    let urgentOutcomes: Outcome[] = [];
    scorer.submit({
      inputs: urgentCases.map((c) => c.input),
      urgent: true,
      done: (outcomes) => {
        callsWhenAnswered = model.callsLetThrough;
        urgentOutcomes = outcomes;
      },
    });
    for (let call = 1; callsWhenAnswered < 0; call++) {
      await waitFor(() => model.waiting === 1, { what: `model call ${call}` });
      model.letOneThrough();
      await waitFor(() => model.waiting === 1 || callsWhenAnswered >= 0, { what: `model call ${call} answered` });
    }
    assert.equal(callsWhenAnswered, 2, 'answered by the call after the one running when it was submitted');
    assert.deepEqual(model.calls[1]!.slice(0, 2).map(rowKey), urgentCases.map((c) => rowKey(rowOf(c))), 'urgent rows first');
    urgentCases.forEach((c, i) => assertOutcome(model, c, urgentOutcomes[i], `urgent input ${i}`));
    assert.deepEqual(backlog.answered, [], 'the backlog is still being scored');
    while (backlog.answered.length < 5) {
      await waitFor(() => model.waiting === 1 || backlog.answered.length === 5, { what: 'the backlog' });
      if (model.waiting === 1) model.letOneThrough();
    }
    await backlog.done;
    assert.deepEqual(backlog.answered, [0, 1, 2, 3, 4]);
  });

  test('the next model call starts before the last one\'s batches are answered', within, async (t) => {
    const model = new GatedModel({ signature });
    const scorer = makeScorer(t, model, { maxBatchSize: 4 });
    const callsStartedAtAnswer: number[] = [];
    const answered = Promise.all(
      chunked(cases(0, 8, false), 4).map(
        (chunk) => new Promise<void>((resolve) => scorer.submit({ inputs: chunk.map((c) => c.input), done: () => (callsStartedAtAnswer.push(model.calls.length), resolve()) })),
      ),
    );
    await waitFor(() => model.waiting === 1, { what: 'the first model call' });
    model.letOneThrough();
    await waitFor(() => model.waiting === 1, { what: 'the second model call' });
    model.letOneThrough();
    await answered;
    assert.deepEqual(callsStartedAtAnswer, [2, 2], 'the first batch was answered after the second call had started');
  });

  test('an urgent caller\'s answer, and what it does with it, come before the answers of a backlog scored in the same call', within, async (t) => {
    const model = new GatedModel({ signature });
    const scorer = makeScorer(t, model, { maxBatchSize: 8 });
    const events: string[] = [];
    const first = submitAll(scorer, [cases(0, 2, false)]);
    await waitFor(() => model.waiting === 1, { what: 'the first model call' });
    scorer.submit({ inputs: cases(10, 3, false).map((c) => c.input), done: () => events.push('backlog answered') });
    const urgent = new Promise<Outcome[]>((resolve) =>
      scorer.submit({ inputs: cases(20, 1, false).map((c) => c.input), urgent: true, source: 'http', done: (o) => (events.push('urgent answered'), resolve(o)) }),
    );
    // An HTTP handler writes its reply a few promise hops after its answer.
    const replied = urgent.then((o) => o).then((o) => o).then(() => events.push('urgent reply written'));
    model.letOneThrough();
    await first.done;
    await waitFor(() => model.waiting === 1, { what: 'the call of both' });
    assert.deepEqual(model.calls[1]!.length, 4, 'the urgent row and the backlog share one model call');
    model.letOneThrough();
    await replied;
    await waitFor(() => events.length === 3, { what: 'the backlog answer' });
    assert.deepEqual(events, ['urgent answered', 'urgent reply written', 'backlog answered']);
  });

  test('rows of a batch whose caller gave up before their model call are not scored: REQUEST_CANCELLED; rows already in a call are', within, async (t) => {
    const model = new GatedModel({ signature });
    const scorer = makeScorer(t, model, { maxBatchSize: 4 });
    const first = submitAll(scorer, [cases(0, 3, false)]);
    await waitFor(() => model.waiting === 1, { what: 'the first model call' });
    const caller = new AbortController();
    const left = cases(10, 3, false);
    let outcomes: Outcome[] = [];
    scorer.submit({ inputs: left.map((c) => c.input), urgent: true, source: 'http', signal: caller.signal, done: (o) => (outcomes = o) });
    const stayed = submitAll(scorer, [cases(20, 2, false)]);
    caller.abort(new Error('gone'));
    model.letOneThrough(); // the call that held `first`, running when the caller left
    while (stayed.answered.length === 0) {
      await waitFor(() => model.waiting === 1 || stayed.answered.length > 0, { what: 'the next model call' });
      if (model.waiting === 1) model.letOneThrough();
    }
    await Promise.all([first.done, stayed.done]);
    assert.equal(outcomes.length, 3);
    for (const o of outcomes) assert.equal((o as RecordError).code, ErrorCodes.REQUEST_CANCELLED);
    // the next call took the 3 urgent rows and 1 of the backlog (4 at most): only that one was scored
    assert.deepEqual(model.calls.map((c) => c.length), [3, 1, 1], 'the cancelled rows never reached the model');
    assert.deepEqual(model.calls[0]!.map(rowKey), cases(0, 3, false).map((c) => rowKey(rowOf(c))));
  });

  test('reports rows per model call by source, and how many calls an urgent row waited behind', within, async (t) => {
    const model = new GatedModel({ signature });
    const calls: Record<string, number>[] = [];
    const waits: number[] = [];
    const observer = { ...noopObserver, callRows: (r: Record<string, number>) => calls.push({ ...r }), httpRowWait: (c: number) => waits.push(c) };
    const scorer = makeScorer(t, model, { maxBatchSize: 4, observer });
    const backlog = submitAll(scorer, [cases(0, 9, false)]);
    await waitFor(() => model.waiting === 1, { what: 'the first model call' });
    let answered = false;
    scorer.submit({ inputs: cases(50, 2, false).map((c) => c.input), urgent: true, source: 'http', done: () => (answered = true) });
    while (!answered || model.waiting > 0 || calls.length < 3) {
      await waitFor(() => model.waiting === 1 || (answered && calls.length >= 3 && model.waiting === 0), { what: 'a model call' });
      if (model.waiting === 1) model.letOneThrough();
    }
    await backlog.done;
    assert.deepEqual(calls, [{ kafka: 4, http: 0 }, { kafka: 2, http: 2 }, { kafka: 3, http: 0 }], 'the urgent rows joined the next call, filled up with the backlog');
    assert.deepEqual(waits, [1, 1], 'each urgent row waited behind the one call running when it came');
  });

  test('drain() resolves only after every submitted batch is answered', within, async (t) => {
    const model = new GatedModel({ signature });
    const scorer = makeScorer(t, model, { maxBatchSize: 4, maxBatchDelayMs: 60_000 });
    const { answered } = submitAll(scorer, chunked(cases(0, 10), 3));
    let answeredAtDrain = -1;
    const draining = scorer.drain().then(() => void (answeredAtDrain = answered.length));
    while (answeredAtDrain < 0) {
      await waitFor(() => model.waiting === 1 || answeredAtDrain >= 0, { what: 'a model call or the drain' });
      if (answeredAtDrain >= 0) break;
      assert.ok(answered.length < 4, 'not drained while batches are unanswered');
      model.letOneThrough();
    }
    await draining;
    assert.equal(answeredAtDrain, 4);
    assert.equal(scorer.queued, 0);
  });

  test('drain() with nothing submitted resolves; an empty batch is answered with no outcomes', within, async (t) => {
    const model = markedModel();
    const scorer = makeScorer(t, model);
    await scorer.drain();
    const { answers, done } = submitAll(scorer, [[]]);
    await done;
    assert.deepEqual(answers, [[]]);
    assert.deepEqual(model.batchSizes, []);
  });

  test('a model that fails every row, the known-good row too: nothing answered, unhealthy, then everything once it works again', within, async (t) => {
    let broken = true;
    const model = new StubModel({ signature, failsOn: () => broken });
    const scorer = makeScorer(t, model, { modelRetryBackoffMs: 5 });
    const health: boolean[] = [];
    scorer.onHealthChange((healthy) => health.push(healthy));
    const answers: Outcome[][] = [];
    scorer.submit({ inputs: cases(0, 5, false).map((c) => c.input), done: (outcomes) => answers.push(outcomes) });
    await waitFor(() => !scorer.healthy, { what: 'the scorer to see the model fail' });
    await waitFor(() => model.batchSizes.length >= 6, { what: 'a few more tries' });
    assert.equal(answers.length, 0, 'no input is answered (no dead letter) while the model fails everything');
    broken = false;
    await waitFor(() => answers.length === 1, { what: 'the answer once the model works' });
    assert.ok(answers[0]!.every((o) => !(o instanceof RecordError)), 'every input predicted, none dead-lettered');
    assert.equal(scorer.healthy, true);
    assert.deepEqual(health, [false, true]);
  });

  test('close() while the model fails leaves the rows unanswered and drain() returns', within, async (t) => {
    const model = new StubModel({ signature, failsOn: () => true });
    const scorer = makeScorer(t, model, { modelRetryBackoffMs: 5 });
    const answers: Outcome[][] = [];
    scorer.submit({ inputs: cases(0, 3, false).map((c) => c.input), done: (outcomes) => answers.push(outcomes) });
    await waitFor(() => !scorer.healthy, { what: 'the model to fail' });
    scorer.close();
    await scorer.drain();
    assert.deepEqual(answers, []);
  });
});

