/**
 * The at-least-once sink against a stand-in kafkajs producer: what it rejects with when the broker refuses a write
 * (src/kafka/errors.ts), and which topic the error names when a request to several topics is refused (the topic
 * kafkajs' patched response parser attaches).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka, ProducerBatch } from 'kafkajs';
import { ErrorCodes } from '../../../src/errors.js';
import { KafkaSink } from '../../../src/kafka/sink.js';
import type { OutboundMessage } from '../../../src/kafka/records.js';
import { silentLogger } from '../support.js';
import { afterRetries, kafkajsError, responseError } from './kafkajsErrors.js';

const message = (topic: string, n: number): OutboundMessage => ({ topic, key: Buffer.from(`k${n}`), value: Buffer.from(`v${n}`), headers: {} });

/** A client whose producer refuses every request that writes to one of `refused` (as a broker with an ACL would). */
function refusingKafka(refused: Set<string>, error: (topics: string[]) => Promise<Error>): { kafka: Kafka; requests: string[][] } {
  const requests: string[][] = [];
  const producer = {
    events: { CONNECT: 'connect', DISCONNECT: 'disconnect' },
    on: () => () => {},
    connect: async () => {},
    disconnect: async () => {},
    sendBatch: async (batch: ProducerBatch) => {
      const topics = (batch.topicMessages ?? []).map((t) => t.topic);
      requests.push(topics);
      if (topics.some((t) => refused.has(t))) throw await error(topics);
      return [];
    },
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, requests };
}

test('a write refused for the dead-letter topic rejects with AUTHORIZATION_FAILED naming that topic alone, not retryable', async () => {
  // the broker's answer as kafkajs parses it: no error for "out", TOPIC_AUTHORIZATION_FAILED for "dlq"
  const { kafka, requests } = refusingKafka(new Set(['dlq']), async (topics) => afterRetries(await responseError('produce', topics.map((t) => [t, t === 'dlq' ? 29 : 0]))));
  const sink = new KafkaSink(kafka, silentLogger);
  const err = await sink.send([message('out', 1), message('dlq', 2), message('out', 3)]).then(
    () => assert.fail('resolved'),
    (e: unknown) => e as { code: string; retryable: boolean; message: string },
  );
  assert.equal(err.code, ErrorCodes.AUTHORIZATION_FAILED);
  assert.equal(err.retryable, false);
  assert.match(err.message, /not authorized to write topic "dlq" \(TOPIC_AUTHORIZATION_FAILED\)/);
  assert.doesNotMatch(err.message, /"out"/);
  assert.deepEqual(requests, [['out', 'dlq']], 'one request, not retried');
});

test('other failures stay retryable PRODUCE_FAILED', async () => {
  const { kafka, requests } = refusingKafka(new Set(['out']), async () => kafkajsError('KafkaJSConnectionError', 'Connection error: ECONNREFUSED'));
  const sink = new KafkaSink(kafka, silentLogger);
  const err = await sink.send([message('out', 1), message('dlq', 2)]).then(
    () => assert.fail('resolved'),
    (e: unknown) => e as { code: string; retryable: boolean },
  );
  assert.deepEqual([err.code, err.retryable], [ErrorCodes.PRODUCE_FAILED, true]);
  assert.equal(requests.length, 1);
});
