import type { OutboundMessage } from './record.js';

/** Bytes of a record batch around its records (v2 format header), which the broker's limit counts too. */
export const RECORD_BATCH_OVERHEAD = 61;

/** Per-record overhead in a record batch (varint lengths, attributes, deltas), generously rounded. */
const RECORD_OVERHEAD = 32;

function headerBytes(headers: OutboundMessage['headers']): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) n += Buffer.byteLength(k) + (typeof one === 'string' ? Buffer.byteLength(one) : one.length) + 4;
  }
  return n;
}

/** The bytes one message adds to a record batch, estimated from above. */
export function messageBytes(m: OutboundMessage): number {
  return RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0) + headerBytes(m.headers);
}

/** Whether `m`, sent alone, stays within a topic's `max.message.bytes`. */
export function fitsAlone(m: OutboundMessage, maxMessageBytes: number): boolean {
  return RECORD_BATCH_OVERHEAD + messageBytes(m) <= maxMessageBytes;
}
