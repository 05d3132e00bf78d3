/**
 * The end of every scenario: read both outcome topics back to their end (read_committed), count, print the
 * scenario's FAULT line, and fail — with the scenario's own error if it did not get to the end, else on any
 * broken invariant. The line is printed in every case, so a failed run still shows its figures.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName, type ReadMessage } from '../../support/kafka.js';
import type { Fleet } from './instances.js';
import { readOutcomes, type OutcomeTopics } from './read.js';
import { OutcomeTally, assertInvariants, faultLine, type Expected, type Guarantee, type Outcome, type Tally } from './tally.js';

export interface CountOptions {
  scenario: string;
  mode: Guarantee;
  brokers: string[];
  topics: OutcomeTopics;
  expected: ReadonlyMap<string, Expected>;
  /** When the scenario began (for durationMs). */
  started: number;
  /** Why the scenario did not run to its end, if it did not. */
  failure?: Error | undefined;
  extra?: Record<string, string | number | boolean>;
  readTimeoutMs?: number;
  /** On failure, the instances' logs are written to a temporary directory named in the FAULT line. */
  fleet?: Fleet;
  onMessage?: (m: ReadMessage, kind: Outcome['kind']) => void;
}

export async function countAndReport(options: CountOptions): Promise<Tally> {
  const { scenario, mode, failure } = options;
  const tally = new OutcomeTally(options.expected);
  let readError: Error | undefined;
  let readMs = 0;
  try {
    ({ ms: readMs } = await readOutcomes(options.brokers, options.topics, (o) => tally.add(o), {
      timeoutMs: options.readTimeoutMs ?? (failure === undefined ? 150_000 : 30_000),
      ...(options.onMessage === undefined ? {} : { onMessage: options.onMessage }),
    }));
  } catch (err) {
    readError = err instanceof Error ? err : new Error(String(err));
  }
  const result = tally.result();
  const failed = failure !== undefined || readError !== undefined || !invariantsHold(mode, result);
  let logs: string | undefined;
  if (failed && options.fleet !== undefined && options.fleet.instances.length > 0) {
    logs = join(tmpdir(), uniqueName(`streamserve-fault-${scenario}-${mode}`));
    options.fleet.dumpLogs(logs);
  }
  console.log(
    faultLine(scenario, mode, result, {
      ...options.extra,
      completed: failure === undefined && readError === undefined,
      durationMs: Date.now() - options.started,
      readMs,
      ...(logs === undefined ? {} : { logs }),
    }),
  );
  if (failure !== undefined) throw failure;
  if (readError !== undefined) throw readError;
  assertInvariants(scenario, mode, result);
  return result;
}

function invariantsHold(mode: Guarantee, t: Tally): boolean {
  return t.lost === 0 && t.outOfOrder === 0 && t.unknown === 0 && t.wrongOutcome === 0 && (mode !== 'exactly-once' || t.duplicated === 0);
}
