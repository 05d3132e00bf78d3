import type { OutboundMessage } from './records.js';

/** Bytes of a record batch around its records (v2 format header), which the broker's limit counts too. */
export const RECORD_BATCH_OVERHEAD = 61;

/** Per-record overhead in a record batch (varint lengths, attributes, deltas), generously rounded. */
const RECORD_OVERHEAD = 32;

function headerBytes(headers: OutboundMessage['headers']): number {
  // Called for every outcome: no Object.entries or wrapping arrays.
  let n = 0;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const keyBytes = Buffer.byteLength(k) + 4;
    if (Array.isArray(v)) for (const one of v) n += keyBytes + valueBytes(one);
    else n += keyBytes + valueBytes(v);
  }
  return n;
}

function valueBytes(v: string | Buffer): number {
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** The bytes one message adds to a record batch, estimated from above. */
export function messageBytes(m: OutboundMessage): number {
  return RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0) + headerBytes(m.headers);
}

/** Whether `m`, sent alone, stays within a topic's `max.message.bytes`. */
export function fitsAlone(m: OutboundMessage, maxMessageBytes: number): boolean {
  return RECORD_BATCH_OVERHEAD + messageBytes(m) <= maxMessageBytes;
}
