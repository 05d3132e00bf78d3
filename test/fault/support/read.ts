/**
 * Reads the output and dead-letter topics back, to their end, as a downstream consumer with read_committed would:
 * aborted transactional outcomes never count. "The end" is each partition's end offset when reading starts; all
 * writers are stopped by then, so it only moves if something is still writing (which the counts would show).
 */
import { headerString, readTopicToEnd, type ReadMessage, type ReadOptions } from '../../support/kafka.js';
import { Header } from '../../../src/kafka/headers.js';
import type { Outcome } from './tally.js';

export interface OutcomeTopics {
  output: string;
  dlq: string;
}

/** The outcome a message of the output (`prediction`) or dead-letter topic stands for. */
export function toOutcome(m: ReadMessage, kind: Outcome['kind']): Outcome {
  return {
    id: m.key === null ? '(null key)' : m.key.toString(),
    kind,
    outputPartition: `${m.topic}:${m.partition}`,
    sourcePartition: Number(header(m, Header.sourcePartition) ?? -1),
    sourceOffset: Number(header(m, Header.sourceOffset) ?? -1),
    stage: header(m, Header.errorStage),
    code: header(m, Header.errorCode),
  };
}

/**
 * Reads both outcome topics to their end and hands every outcome to `onOutcome`; `onMessage` (optional) also gets
 * the raw message, for scenarios that check values. Returns how long reading took.
 */
export async function readOutcomes(
  brokers: string[],
  topics: OutcomeTopics,
  onOutcome: (o: Outcome) => void,
  options: Omit<ReadOptions, 'groupId'> & { onMessage?: (m: ReadMessage, kind: Outcome['kind']) => void } = {},
): Promise<{ ms: number }> {
  const started = Date.now();
  const { onMessage, ...readOptions } = options;
  const read = (topic: string, kind: Outcome['kind']) =>
    readTopicToEnd(
      brokers,
      topic,
      (m) => {
        onOutcome(toOutcome(m, kind));
        onMessage?.(m, kind);
      },
      readOptions,
    );
  await Promise.all([read(topics.output, 'prediction'), read(topics.dlq, 'deadLetter')]);
  return { ms: Date.now() - started };
}

function header(m: ReadMessage, name: string): string | undefined {
  return headerString(m.headers, name);
}
