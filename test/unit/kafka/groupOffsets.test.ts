import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupOffsets } from '../../../src/kafka/groupOffsets.js';
import type { KafkaClient } from '../../../src/kafka/client.js';

/**
 * kafkajs reconnects for each retry of a request still running after disconnect(): a lag read in flight when the
 * input closed left a connection (and the test process) alive for good. close() must wait for running reads.
 */
test('close() disconnects only after the reads in flight have settled', async () => {
  const events: string[] = [];
  let finishRead!: () => void;
  const admin = {
    connect: async () => void events.push('connect'),
    disconnect: async () => void events.push('disconnect'),
    fetchTopicOffsets: () =>
      new Promise<{ partition: number; high: string; low: string; offset: string }[]>((resolve) => {
        events.push('read started');
        finishRead = () => {
          events.push('read settled');
          resolve([{ partition: 0, high: '7', low: '0', offset: '7' }]);
        };
      }),
  };
  const offsets = new GroupOffsets({ admin: () => admin } as unknown as KafkaClient, 'group');
  const read = offsets.ends('topic');
  await new Promise((resolve) => setImmediate(resolve));
  const closed = offsets.close();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(events, ['connect', 'read started'], 'no disconnect while the read runs');
  finishRead();
  assert.deepEqual([...(await read)], [[0, '7']]);
  await closed;
  assert.deepEqual(events, ['connect', 'read started', 'read settled', 'disconnect']);
  await assert.rejects(offsets.ends('topic'), 'no reads after close');
});
