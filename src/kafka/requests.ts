import type { Message, TopicMessages } from 'kafkajs';
import type { OutboundMessage } from './records.js';
import { messageBytes } from './size.js';

/**
 * Bytes of produce request one call may carry. kafkajs sends each partition's messages of a call as one record
 * batch, and the broker refuses a batch over its message.max.bytes (1 MiB by default) — a refusal that retrying
 * cannot fix. Half of that leaves room for record overhead and for brokers configured lower.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

/**
 * Splits messages, in order, into produce calls of at most `maxBytes` each (a single larger message travels
 * alone), grouped by topic within each call. Sending the calls one after another keeps every partition's order.
 */
export function produceRequests(messages: readonly OutboundMessage[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = () => {
    if (current.size === 0) return;
    requests.push([...current].map(([topic, list]) => ({ topic, messages: list })));
    current = new Map();
    bytes = 0;
  };
  for (const m of messages) {
    const size = messageBytes(m);
    if (bytes > 0 && bytes + size > maxBytes) flush();
    let list = current.get(m.topic);
    if (!list) current.set(m.topic, (list = []));
    const message: Message = { key: m.key, value: m.value, headers: m.headers };
    if (m.timestamp !== undefined) message.timestamp = m.timestamp;
    list.push(message);
    bytes += size;
  }
  flush();
  return requests;
}
