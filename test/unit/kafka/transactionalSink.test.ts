/**
 * The exactly-once producers against a stand-in kafkajs transactional producer: how a refused or fenced transaction
 * is reported (src/kafka/errors.ts). TRANSACTIONAL_ID_AUTHORIZATION_FAILED is a refusal, not a fence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka, ProducerBatch } from 'kafkajs';
import { ErrorCodes } from '../../../src/errors.js';
import { KafkaTransactionalSink } from '../../../src/kafka/transactionalSink.js';
import type { OutboundMessage } from '../../../src/kafka/records.js';
import { silentLogger } from '../support.js';
import { afterRetries, protocolError, responseError } from './kafkajsErrors.js';

const message = (topic: string, n: number): OutboundMessage => ({ topic, key: Buffer.from(`k${n}`), value: Buffer.from(`v${n}`), headers: {} });

interface Script {
  /** Rejects the transaction's step (`begin`, `send:<topic>[+<topic>…]`, `offsets`, `commit`) with this error, when set. */
  fail: (step: string) => Promise<Error> | null;
}

function scriptedKafka(script: Script): { kafka: Kafka; steps: string[] } {
  const steps: string[] = [];
  const step = async (name: string) => {
    steps.push(name);
    const error = script.fail(name);
    if (error) throw await error;
  };
  const producer = {
    connect: async () => {},
    disconnect: async () => {},
    transaction: async () => {
      await step('begin');
      let active = true;
      return {
        isActive: () => active,
        sendBatch: async (batch: ProducerBatch) => {
          await step(`send:${(batch.topicMessages ?? []).map((t) => t.topic).join('+')}`);
        },
        sendOffsets: () => step('offsets'),
        commit: async () => {
          active = false;
          await step('commit');
        },
        abort: async () => {
          active = false;
        },
      };
    },
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, steps };
}

function sink(kafka: Kafka): KafkaTransactionalSink {
  return new KafkaTransactionalSink({ kafka, groupId: 'scorers', transactionalIdPrefix: 'scorers', transactionTimeoutMs: 60_000, logger: silentLogger });
}

const commit = { source: { topic: 'in', partition: 2 }, messages: [message('out', 1), message('dlq', 2), message('out', 3)], nextOffset: '8' };
const rejection = (p: Promise<unknown>) => p.then(() => assert.fail('resolved'), (e: unknown) => e as { code: string; retryable: boolean; message: string });

test('a transaction refused for the dead-letter topic: AUTHORIZATION_FAILED naming it alone, from a request to both topics', async () => {
  // AddPartitionsToTxn as the broker answers it: OPERATION_NOT_ATTEMPTED (55) for "out", listed first
  const refused = async () => afterRetries(await responseError('addPartitionsToTxn', [['out', 55], ['dlq', 29]]));
  const { kafka, steps } = scriptedKafka({ fail: (s) => (s === 'send:out+dlq' ? refused() : null) });
  const err = await rejection(sink(kafka).commit(commit));
  assert.deepEqual([err.code, err.retryable], [ErrorCodes.AUTHORIZATION_FAILED, false]);
  assert.match(err.message, /not authorized to write topic "dlq" \(TOPIC_AUTHORIZATION_FAILED\)/);
  assert.doesNotMatch(err.message, /"out"/);
  assert.deepEqual(steps, ['begin', 'begin', 'send:out+dlq'], 'the fence, then one request to both topics');
});

test('TRANSACTIONAL_ID_AUTHORIZATION_FAILED is a refusal naming the transactional id, not a fence — at the claim and in a transaction', async () => {
  const refused = () => afterRetries(protocolError('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53));
  const atClaim = scriptedKafka({ fail: (s) => (s === 'begin' ? refused() : null) });
  const claimErr = await rejection(sink(atClaim.kafka).fence('in', 2));
  assert.equal(claimErr.code, ErrorCodes.AUTHORIZATION_FAILED);
  assert.match(claimErr.message, /not authorized to write transactional id "scorers-in-2"/);

  const inTx = scriptedKafka({ fail: (s) => (s === 'commit' ? refused() : null) });
  const txErr = await rejection(sink(inTx.kafka).commit(commit));
  assert.equal(txErr.code, ErrorCodes.AUTHORIZATION_FAILED);
  assert.match(txErr.message, /transactional id "scorers-in-2"/);
});

test('a refused offset commit names the group; a newer epoch is PRODUCER_FENCED; a timeout is retryable', async () => {
  const group = scriptedKafka({ fail: (s) => (s === 'offsets' ? Promise.resolve(protocolError('GROUP_AUTHORIZATION_FAILED', 30)) : null) });
  const groupErr = await rejection(sink(group.kafka).commit(commit));
  assert.equal(groupErr.code, ErrorCodes.AUTHORIZATION_FAILED);
  assert.match(groupErr.message, /not authorized to read group "scorers"/);

  const fenced = scriptedKafka({ fail: (s) => (s === 'commit' ? Promise.resolve(protocolError('INVALID_PRODUCER_EPOCH', 47)) : null) });
  assert.equal((await rejection(sink(fenced.kafka).commit(commit))).code, ErrorCodes.PRODUCER_FENCED);

  const slow = scriptedKafka({ fail: (s) => (s === 'send:out+dlq' ? afterRetries(protocolError('REQUEST_TIMED_OUT', 7)) : null) });
  const slowErr = await rejection(sink(slow.kafka).commit(commit));
  assert.deepEqual([slowErr.code, slowErr.retryable], [ErrorCodes.PRODUCE_FAILED, true]);
});
