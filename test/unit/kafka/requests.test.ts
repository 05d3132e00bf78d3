import { test } from 'node:test';
import assert from 'node:assert/strict';
import { produceRequests } from '../../../src/kafka/requests.js';
import { messageBytes } from '../../../src/kafka/size.js';
import type { OutboundMessage } from '../../../src/kafka/records.js';

const msg = (topic: string, i: number, valueBytes = 300): OutboundMessage => ({
  topic,
  key: Buffer.from(`k${i}`),
  value: Buffer.alloc(valueBytes, 1),
  headers: { 'streamserve.source.offset': String(i) },
});

test('produce requests stay under the byte budget and keep every message, in order', () => {
  const messages = Array.from({ length: 10_000 }, (_, i) => msg(i % 3 === 0 ? 'dlq' : 'out', i));
  const requests = produceRequests(messages, 64 * 1024);
  assert.ok(requests.length > 1);
  const sent: string[] = [];
  for (const request of requests) {
    let bytes = 0;
    for (const tm of request) {
      for (const m of tm.messages) {
        bytes += messageBytes({ topic: tm.topic, key: m.key as Buffer, value: m.value as Buffer, headers: m.headers as Record<string, string> });
        sent.push(`${tm.topic}/${String((m.headers as Record<string, string>)['streamserve.source.offset'])}`);
      }
    }
    assert.ok(bytes <= 64 * 1024, `a request of ${bytes} bytes`);
  }
  const expected = messages.map((m) => `${m.topic}/${String(m.headers['streamserve.source.offset'])}`);
  // Within one topic the order is the input order.
  for (const topic of ['out', 'dlq']) {
    assert.deepEqual(sent.filter((s) => s.startsWith(`${topic}/`)), expected.filter((s) => s.startsWith(`${topic}/`)));
  }
  assert.equal(sent.length, messages.length);
});

test('a message larger than the budget travels alone; an empty list makes no request', () => {
  const requests = produceRequests([msg('out', 1), msg('out', 2, 900_000), msg('out', 3)], 512 * 1024);
  assert.deepEqual(requests.map((r) => r.flatMap((tm) => tm.messages).length), [1, 1, 1]);
  assert.deepEqual(produceRequests([]), []);
});
