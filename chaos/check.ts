/**
 * The chaos run's checker: reads a group's input topic and both outcome topics back (outcomes read_committed, as a
 * downstream consumer reads them) and judges every input — identified by where it is on the input topic, which the
 * outcome's lineage headers name — against what its header says it must become. Each input belongs to the fault
 * window it was generated in (from one fault's start to the next's), so the figures come out per fault.
 */
import { Header } from '../src/kafka/headers.js';
import { headerString, readTopicToEnd } from '../test/support/kafka.js';
import type { TestTopics } from '../test/integration/support/app.js';
import { EXPECT_HEADER } from './producer.js';

export interface WindowFigures {
  inputs: number;
  /** Inputs with no outcome. */
  lost: number;
  /** Inputs with more than one outcome. */
  duplicated: number;
  /** First outcomes that came after the outcome of a later input of the same key. */
  outOfOrder: number;
  /** First outcomes that are not what the input must become (a prediction for poison, a dead letter for a valid input, the wrong code). */
  wrong: number;
  /** The longest time in the window with no prediction written (ms; a dead letter's timestamp is its input's). */
  longestGapMs: number;
  /** The longest time from an input's generation to its first outcome, when that is a prediction (ms). */
  maxLatencyMs: number;
  /** A few examples of each problem. */
  examples: Record<Problem, string[]>;
}

export interface Check {
  /** Window 0: before the first fault; window n: from fault n's start to fault n+1's. */
  windows: WindowFigures[];
  total: WindowFigures;
  /** Outcomes naming an input that is not on the input topic. */
  unknown: number;
}

interface Input {
  key: string;
  at: number;
  expect: string;
  outcomes: number;
  firstAt: number;
  firstWrong: string | undefined;
  outOfOrder: boolean;
}

/** `windowStarts[i]`: when fault i+1 began (ms since epoch), ascending. */
export async function checkGroup(brokers: string[], topics: TestTopics, windowStarts: readonly number[], readTimeoutMs = 180_000): Promise<Check> {
  const inputs = new Map<string, Input>();
  await readTopicToEnd(
    brokers,
    topics.input,
    (m) => {
      inputs.set(`${m.partition}@${m.offset}`, {
        key: m.key?.toString() ?? '(null key)',
        at: Number(m.timestamp),
        expect: headerString(m.headers, EXPECT_HEADER) ?? '(no header)',
        outcomes: 0,
        firstAt: 0,
        firstWrong: undefined,
        outOfOrder: false,
      });
    },
    { isolation: 'read_uncommitted', timeoutMs: readTimeoutMs },
  );

  let unknown = 0;
  const outcomeTimes: number[] = [];
  /** Per outcome topic and key: the highest input offset with an outcome so far (a key's inputs are on one input
   * partition; the order of a prediction against a dead letter, on two topics, is no order a reader can see). */
  const highest = new Map<string, number>();
  const onOutcome = (kind: 'prediction' | 'deadLetter') => (m: { topic: string; headers: Parameters<typeof headerString>[0]; timestamp: string }) => {
    const partition = headerString(m.headers, Header.sourcePartition);
    const offset = Number(headerString(m.headers, Header.sourceOffset));
    const input = inputs.get(`${partition}@${offset}`);
    // A dead letter keeps its input's timestamp (a copy of the input): only a prediction's says when it was written.
    const at = kind === 'prediction' ? Number(m.timestamp) : Number.NaN;
    if (kind === 'prediction') outcomeTimes.push(at);
    if (input === undefined) {
      unknown++;
      return;
    }
    if (++input.outcomes > 1) return;
    input.firstAt = at;
    const got = kind === 'prediction' ? 'prediction' : `deadLetter:${headerString(m.headers, Header.errorStage)}:${headerString(m.headers, Header.errorCode)}`;
    if (got !== input.expect) input.firstWrong = got;
    const key = `${m.topic}|${input.key}`;
    if (offset < (highest.get(key) ?? -1)) input.outOfOrder = true;
    else highest.set(key, offset);
  };
  // Keys keep their output partition, and each partition is read in order: per-key order is judged as read.
  await Promise.all([
    readTopicToEnd(brokers, topics.output, onOutcome('prediction'), { timeoutMs: readTimeoutMs }),
    readTopicToEnd(brokers, topics.dlq, onOutcome('deadLetter'), { timeoutMs: readTimeoutMs }),
  ]);

  const windowOf = (at: number): number => {
    let w = 0;
    while (w < windowStarts.length && at >= windowStarts[w]!) w++;
    return w;
  };
  const windows = Array.from({ length: windowStarts.length + 1 }, emptyFigures);
  const total = emptyFigures();
  for (const [where, input] of inputs) {
    for (const f of [windows[windowOf(input.at)]!, total]) {
      f.inputs++;
      if (input.outcomes === 0) note(f, 'lost', `lost ${where} (${input.key})`);
      if (input.outcomes > 1) note(f, 'duplicated', `${input.outcomes}× ${where} (${input.key})`);
      if (input.outOfOrder) note(f, 'outOfOrder', `out of order ${where} (${input.key})`);
      if (input.firstWrong !== undefined) note(f, 'wrong', `${where}: ${input.firstWrong}, must be ${input.expect}`);
      if (input.outcomes > 0 && !Number.isNaN(input.firstAt)) f.maxLatencyMs = Math.max(f.maxLatencyMs, input.firstAt - input.at);
    }
  }
  outcomeTimes.sort((a, b) => a - b);
  const bounds = [...windowStarts, Number.POSITIVE_INFINITY];
  let i = 0;
  for (let w = 0; w < windows.length; w++) {
    const end = bounds[w]!;
    let previous = w === 0 ? Number.NaN : windowStarts[w - 1]!;
    for (; i < outcomeTimes.length && outcomeTimes[i]! < end; i++) {
      if (!Number.isNaN(previous)) windows[w]!.longestGapMs = Math.max(windows[w]!.longestGapMs, outcomeTimes[i]! - previous);
      previous = outcomeTimes[i]!;
    }
    if (Number.isFinite(end) && !Number.isNaN(previous) && i < outcomeTimes.length) windows[w]!.longestGapMs = Math.max(windows[w]!.longestGapMs, outcomeTimes[i]! - previous);
    total.longestGapMs = Math.max(total.longestGapMs, windows[w]!.longestGapMs);
  }
  return { windows, total, unknown };
}

export type Problem = 'lost' | 'duplicated' | 'outOfOrder' | 'wrong';

export function emptyFigures(): WindowFigures {
  return { inputs: 0, lost: 0, duplicated: 0, outOfOrder: 0, wrong: 0, longestGapMs: 0, maxLatencyMs: 0, examples: { lost: [], duplicated: [], outOfOrder: [], wrong: [] } };
}

function note(f: WindowFigures, what: Problem, example: string): void {
  f[what]++;
  if (f.examples[what].length < 3) f.examples[what].push(example);
}
