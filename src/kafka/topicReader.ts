import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { toInputRecord, type InputRecord } from './records.js';

export interface ReadOptions {
  /** Stop after this many messages. */
  max?: number;
  /** Stop when nothing new arrived for this long (after the first fetch). */
  idleMs: number;
  readCommitted?: boolean;
  onMessage: (record: InputRecord) => void;
}

/**
 * Reads a topic from the beginning with a throwaway group (nothing committed) until `max` messages or
 * `idleMs` of silence. For the CLI's `consume` and the demo; resolves to the number of messages read.
 */
export async function readTopic(kafka: Kafka, topic: string, options: ReadOptions): Promise<number> {
  const consumer = kafka.consumer({ groupId: `streamserve-reader-${randomUUID()}`, readUncommitted: !options.readCommitted });
  let count = 0;
  let lastActivity = Date.now();
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (options.max !== undefined && count >= options.max) break;
          options.onMessage(toInputRecord(batch.topic, batch.partition, m));
          count++;
        }
        lastActivity = Date.now();
        if (options.max !== undefined && count >= options.max) finish();
      },
    });
    const timer = setInterval(() => {
      if (Date.now() - lastActivity >= options.idleMs) finish();
    }, Math.min(250, options.idleMs));
    await done;
    clearInterval(timer);
  } finally {
    await consumer.disconnect();
  }
  return count;
}
