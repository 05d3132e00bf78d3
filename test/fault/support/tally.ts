/**
 * The one place the fault suite turns what it sent and what it read back into figures: sent, lost, duplicated, out
 * of order (and what each outcome should have been). Every scenario prints those figures in one fixed line, so a CI
 * log can be grepped for them, and asserts the invariants of its delivery mode.
 */
import assert from 'node:assert/strict';
import type { ErrorCode, Stage } from '../../../src/errors.js';

export const GUARANTEES = ['at-least-once', 'exactly-once'] as const;
export type Guarantee = (typeof GUARANTEES)[number];

/** What an input must become. Dead letters name the stage and code they must carry. */
export type Expected = { kind: 'prediction' } | { kind: 'deadLetter'; stage: Stage; code: ErrorCode };
export const PREDICTION: Expected = Object.freeze({ kind: 'prediction' });

/** One outcome as read back from the output or dead-letter topic (only what the counts need). */
export interface Outcome {
  /** The input's id: outcomes are keyed by the input key, and the suite keys every input by its id. */
  id: string;
  kind: 'prediction' | 'deadLetter';
  /** Where the outcome was read: `topic:partition`. Order is judged per output partition. */
  outputPartition: string;
  /** Lineage headers: where the input was read. */
  sourcePartition: number;
  sourceOffset: number;
  stage?: string | undefined;
  code?: string | undefined;
}

export interface Tally {
  sent: number;
  /** Outcome messages read (predictions + dead letters, repeats included). */
  outcomes: number;
  predictions: number;
  deadLetters: number;
  /** Inputs with no outcome. */
  lost: number;
  /** Inputs with more than one outcome. */
  duplicated: number;
  /** Outcomes beyond the first for an input. */
  repeats: number;
  /**
   * Outcomes that, on their output partition, follow an outcome of a later offset of the same source partition.
   * Repeats of an id already seen on that output partition are not judged (they are counted as duplicated).
   */
  outOfOrder: number;
  /** Outcomes of ids that were never sent. */
  unknown: number;
  /** Inputs whose (first) outcome is not what it must be: a prediction for poison, the wrong stage or code. */
  wrongOutcome: number;
  /** A few ids of each kind of problem, for assertion messages. */
  examples: { lost: string[]; duplicated: string[]; outOfOrder: string[]; unknown: string[]; wrongOutcome: string[] };
}

const EXAMPLES = 5;

/**
 * Counts outcomes against the inputs sent, incrementally (a million outcomes need not be held at once). Feed the
 * outcomes of each output partition in the order they appear on it; partitions may interleave.
 */
export class OutcomeTally {
  readonly #expected: ReadonlyMap<string, Expected>;
  /** Per id: outcomes seen, and the output partition of the first one. */
  readonly #seen = new Map<string, { count: number; firstOn: string }>();
  /** Per output partition and source partition: the highest source offset judged so far. */
  readonly #highest = new Map<string, number>();
  #outcomes = 0;
  #predictions = 0;
  #deadLetters = 0;
  #outOfOrder = 0;
  #unknown = 0;
  #wrong = 0;
  readonly #examples: Tally['examples'] = { lost: [], duplicated: [], outOfOrder: [], unknown: [], wrongOutcome: [] };

  constructor(expected: ReadonlyMap<string, Expected>) {
    this.#expected = expected;
  }

  add(o: Outcome): void {
    this.#outcomes++;
    if (o.kind === 'prediction') this.#predictions++;
    else this.#deadLetters++;
    const expected = this.#expected.get(o.id);
    if (expected === undefined) {
      this.#unknown++;
      note(this.#examples.unknown, o.id);
    }
    const seen = this.#seen.get(o.id);
    if (seen === undefined) {
      this.#seen.set(o.id, { count: 1, firstOn: o.outputPartition });
      if (expected !== undefined && !matches(expected, o)) {
        this.#wrong++;
        note(this.#examples.wrongOutcome, `${o.id} (${describe(o)}, expected ${describeExpected(expected)})`);
      }
    } else {
      seen.count++;
      if (seen.count === 2) note(this.#examples.duplicated, o.id);
      // A repeat on the same output partition is a duplicate, not a reordering.
      if (seen.firstOn === o.outputPartition) return;
    }
    const key = `${o.outputPartition}<${o.sourcePartition}`;
    const highest = this.#highest.get(key);
    if (highest !== undefined && o.sourceOffset < highest) {
      this.#outOfOrder++;
      note(this.#examples.outOfOrder, `${o.id} (source ${o.sourcePartition}@${o.sourceOffset} after @${highest} on ${o.outputPartition})`);
    } else {
      this.#highest.set(key, o.sourceOffset);
    }
  }

  result(): Tally {
    let lost = 0;
    let duplicated = 0;
    let repeats = 0;
    for (const id of this.#expected.keys()) {
      const seen = this.#seen.get(id);
      if (seen === undefined) {
        lost++;
        note(this.#examples.lost, id);
      } else if (seen.count > 1) {
        duplicated++;
        repeats += seen.count - 1;
      }
    }
    return {
      sent: this.#expected.size,
      outcomes: this.#outcomes,
      predictions: this.#predictions,
      deadLetters: this.#deadLetters,
      lost,
      duplicated,
      repeats,
      outOfOrder: this.#outOfOrder,
      unknown: this.#unknown,
      wrongOutcome: this.#wrong,
      examples: structuredClone(this.#examples),
    };
  }
}

/** The figures for a finished list of outcomes (each output partition's outcomes in the order read). */
export function tallyOutcomes(expected: ReadonlyMap<string, Expected>, outcomes: Iterable<Outcome>): Tally {
  const tally = new OutcomeTally(expected);
  for (const o of outcomes) tally.add(o);
  return tally.result();
}

/** `FAULT scenario=<name> mode=<mode> sent=N lost=N duplicated=N outOfOrder=N <extra k=v...>`: one line, fixed order. */
export function faultLine(scenario: string, mode: Guarantee, t: Tally, extra: Record<string, string | number | boolean> = {}): string {
  const fields: Record<string, string | number | boolean> = {
    scenario,
    mode,
    sent: t.sent,
    lost: t.lost,
    duplicated: t.duplicated,
    outOfOrder: t.outOfOrder,
    outcomes: t.outcomes,
    predictions: t.predictions,
    deadLetters: t.deadLetters,
    repeats: t.repeats,
    unknown: t.unknown,
    wrongOutcome: t.wrongOutcome,
    ...extra,
  };
  return `FAULT ${Object.entries(fields)
    .map(([k, v]) => `${k}=${String(v).replace(/\s+/g, '_')}`)
    .join(' ')}`;
}

/**
 * Asserts the invariants: nothing lost, nothing out of order, every outcome what it must be, nothing unknown; and
 * under exactly-once, nothing duplicated.
 */
export function assertInvariants(scenario: string, mode: Guarantee, t: Tally): void {
  const ex = t.examples;
  assert.equal(t.lost, 0, `${scenario}/${mode}: inputs without an outcome, e.g. ${ex.lost.join(', ')}`);
  assert.equal(t.outOfOrder, 0, `${scenario}/${mode}: outcomes out of input order, e.g. ${ex.outOfOrder.join('; ')}`);
  assert.equal(t.unknown, 0, `${scenario}/${mode}: outcomes for ids never sent, e.g. ${ex.unknown.join(', ')}`);
  assert.equal(t.wrongOutcome, 0, `${scenario}/${mode}: wrong outcomes, e.g. ${ex.wrongOutcome.join('; ')}`);
  if (mode === 'exactly-once') {
    assert.equal(t.duplicated, 0, `${scenario}/${mode}: inputs with more than one outcome, e.g. ${ex.duplicated.join(', ')}`);
  }
}

function matches(expected: Expected, o: Outcome): boolean {
  if (expected.kind === 'prediction') return o.kind === 'prediction';
  return o.kind === 'deadLetter' && o.stage === expected.stage && o.code === expected.code;
}

function describe(o: Outcome): string {
  return o.kind === 'prediction' ? 'prediction' : `dead letter ${o.stage}/${o.code}`;
}

function describeExpected(e: Expected): string {
  return e.kind === 'prediction' ? 'prediction' : `dead letter ${e.stage}/${e.code}`;
}

function note(list: string[], item: string): void {
  if (list.length < EXAMPLES) list.push(item);
}
