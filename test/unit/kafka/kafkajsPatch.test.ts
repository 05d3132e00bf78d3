/**
 * patches/kafkajs+2.2.4.patch rewrites kafkajs' varint encoding (straight into the buffer; int32 varlongs without
 * Long objects), sizes its record encoder and writes a record's headers in place. These check the bytes against
 * Kafka's encoding (zigzag, then base-128 little-endian groups; the record layout of KIP-98) computed independently
 * with BigInt, and against kafkajs' own decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

interface EncoderInstance {
  writeVarInt(v: number): EncoderInstance;
  writeVarLong(v: number | string): EncoderInstance;
  writeUVarInt(v: number): EncoderInstance;
  writeInt8(v: number): EncoderInstance;
  buffer: Buffer;
}
interface EncoderClass {
  new (initialSize?: number): EncoderInstance;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: number | string): number;
}
interface DecoderInstance {
  readVarInt(): number;
  readVarLong(): { toString(): string };
  offset: number;
}
type HeaderValue = string | Buffer | null;
type RecordEncoder = (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, HeaderValue | HeaderValue[]>;
}) => EncoderInstance;
type RecordDecoder = (d: DecoderInstance) => { key: Buffer; value: Buffer; headers: Record<string, Buffer>; offset: string; timestamp: string };

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => DecoderInstance;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as RecordEncoder;
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (d: DecoderInstance, batch: object) => ReturnType<RecordDecoder>;

/** Kafka's varint/varlong: zigzag over `bits`, then 7 bits per byte, low groups first, high bit = more follows. */
function reference(value: bigint, bits: 32 | 64): Buffer {
  let z = BigInt.asUintN(bits, (value << 1n) ^ (value >> BigInt(bits - 1)));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}

const INT32 = [0, 1, -1, 2, -2, 63, -64, 64, -65, 127, 128, 300, 8191, -8192, 8192, 2 ** 20, -(2 ** 20), 2 ** 30, 2 ** 31 - 1, -(2 ** 31)];

test('varints are encoded as Kafka encodes them, sized and decoded back', () => {
  for (const v of INT32) {
    const bytes = new Encoder().writeVarInt(v).buffer;
    assert.deepEqual(bytes, reference(BigInt(v), 32), `varint ${v}`);
    assert.equal(Encoder.sizeOfVarInt(v), bytes.length, `size of varint ${v}`);
    assert.equal(new Decoder(bytes).readVarInt(), v, `varint ${v} decodes back`);
  }
});

test('varlongs (int32 fast path and the Long path) are encoded as Kafka encodes them, sized and decoded back', () => {
  const values: (number | string)[] = [
    ...INT32,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 40,
    -(2 ** 40),
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    '1795702073517',
    '9223372036854775807',
    '-9223372036854775808',
  ];
  for (const v of values) {
    const bytes = new Encoder().writeVarLong(v).buffer;
    assert.deepEqual(bytes, reference(BigInt(v), 64), `varlong ${v}`);
    assert.equal(Encoder.sizeOfVarLong(v), bytes.length, `size of varlong ${v}`);
    assert.equal(new Decoder(bytes).readVarLong().toString(), String(v), `varlong ${v} decodes back`);
  }
});

test('an encoder grows past its initial size and keeps every byte written', () => {
  const encoder = new Encoder(1);
  for (const v of INT32) encoder.writeVarInt(v).writeInt8(7);
  const expected = Buffer.concat(INT32.flatMap((v) => [reference(BigInt(v), 32), Buffer.from([7])]));
  assert.deepEqual(encoder.buffer, expected);
});

test('a record with headers, a null key and multi-byte strings encodes to its exact length and decodes back', () => {
  const headers = { 'streamserve.source.topic': 'entrées', 'streamserve.source.offset': '123456789012', binary: Buffer.from([0, 255, 128]) };
  const value = Buffer.alloc(1000, 3);
  const encoded = encodeRecord({ offsetDelta: 5, timestampDelta: -70_000, key: null, value, headers }).buffer;
  const decoder = new Decoder(encoded);
  const length = decoder.readVarInt();
  assert.equal(length, encoded.length - decoder.offset, 'the length prefix counts exactly the bytes that follow');
  const decoded = decodeRecord(decoder, { firstOffset: '100', firstTimestamp: '1000000', magicByte: 2, isControlBatch: false });
  assert.equal(decoded.key, null);
  assert.deepEqual(decoded.value, value);
  assert.equal(decoded.offset, '105');
  assert.equal(decoded.timestamp, '930000');
  assert.deepEqual(
    Object.fromEntries(Object.entries(decoded.headers).map(([k, v]) => [k, v.toString('latin1')])),
    Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v).toString('latin1')])),
  );
});

/** Kafka's record (v2 batches): length, attributes, timestamp and offset deltas, key, value, headers; from the spec. */
function referenceRecord(r: Parameters<RecordEncoder>[0]): Buffer {
  const bytes = (b: Buffer | string | null) => (b === null ? reference(-1n, 32) : Buffer.concat([reference(BigInt(Buffer.byteLength(b)), 32), Buffer.from(b)]));
  const headers = Object.entries(r.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((item) => Buffer.concat([bytes(k), bytes(item)])));
  const body = Buffer.concat([
    Buffer.from([0]),
    reference(BigInt(r.timestampDelta), 64),
    reference(BigInt(r.offsetDelta), 32),
    bytes(r.key),
    bytes(r.value),
    reference(BigInt(headers.length), 32),
    ...headers,
  ]);
  return Buffer.concat([reference(BigInt(body.length), 32), body]);
}

test("records encode to Kafka's record layout: no headers, many, repeated keys, null and multi-byte values", () => {
  const cases: Parameters<RecordEncoder>[0][] = [
    { offsetDelta: 0, timestampDelta: 0, key: null, value: null, headers: {} },
    { offsetDelta: 511, timestampDelta: 1_795_702, key: Buffer.from('in-123456'), value: Buffer.alloc(110, 1), headers: {
      'streamserve.source.topic': 'borehole-inputs',
      'streamserve.source.partition': '3',
      'streamserve.source.offset': '123456',
      'streamserve.model.version': '1.0.0',
      'streamserve.runtime': 'tfjs-wasm',
    } },
    { offsetDelta: 3, timestampDelta: -5, key: Buffer.alloc(0), value: Buffer.alloc(300, 2), headers: {
      'clé': 'entrées ü 日本',
      repeated: ['a', Buffer.from([0, 255]), null, ''],
      empty: [],
      nothing: null,
      long: 'x'.repeat(200),
    } },
  ];
  for (const [i, c] of cases.entries()) assert.deepEqual(encodeRecord(c).buffer, referenceRecord(c), `case ${i}`);
});

test('a produce request carries every message of every partition: key, value, headers, offset and timestamp', async () => {
  type Message = { key: Buffer | null; value: Buffer | null; headers?: Record<string, string>; timestamp?: string };
  type Request = (r: object) => { encode(): Promise<EncoderInstance> };
  type Batch = { firstTimestamp: string; records: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer>; offset: string; timestamp: string }[] };
  const produceRequest = require('kafkajs/src/protocol/requests/produce/v3/request.js') as Request;
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: DecoderInstance) => Promise<Batch>;
  const partitions = [0, 1, 2].map((partition) => ({
    partition,
    firstSequence: 0,
    messages: Array.from({ length: 4 + partition }, (_, i): Message => ({
      key: i === 1 ? null : Buffer.from(`k${partition}-${i}`),
      value: Buffer.alloc(20 + i, partition),
      ...(i % 2 === 0 ? { headers: { 'streamserve.source.offset': String(1000 + i), 'clé': 'ü' } } : {}),
      ...(i === 0 ? {} : { timestamp: String(1_795_702_073_000 + partition * 100 + i) }),
    })),
  }));
  const encoded = (await produceRequest({ acks: -1, timeout: 30_000, topicData: [{ topic: 'out', partitions }] }).encode()).buffer;

  const d = new Decoder(encoded) as DecoderInstance & { readInt16(): number; readInt32(): number; readString(): string | null };
  assert.equal(d.readString(), null, 'no transactional id');
  assert.deepEqual([d.readInt16(), d.readInt32(), d.readInt32(), d.readString(), d.readInt32()], [-1, 30_000, 1, 'out', 3]);
  for (const { partition, messages } of partitions) {
    assert.equal(d.readInt32(), partition);
    d.readInt32(); // record set size
    const batch = await decodeBatch(d);
    assert.equal(batch.records.length, messages.length);
    for (const [i, m] of messages.entries()) {
      const r = batch.records[i]!;
      assert.equal(r.offset, String(i));
      assert.deepEqual(r.key, m.key);
      assert.deepEqual(r.value, m.value);
      assert.deepEqual(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()])), m.headers ?? {});
      // a message without a timestamp gets the request's time; the others keep theirs
      if (m.timestamp !== undefined) assert.equal(r.timestamp, m.timestamp);
    }
  }
});

test('murmur2 (32-bit rewrite) gives the hashes of kafkajs 2.2.4 and Java, so keys keep their partitions', () => {
  const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
  // Computed with kafkajs 2.2.4 as released (its Long-based murmur2).
  const golden: [string | number[], number][] = [
    ['', 275646681],
    ['a', -1563381124],
    ['ab', 316155434],
    ['abc', 479470107],
    ['abcd', -1323649548],
    ['21', -973932308],
    ['foobar', -790332482],
    ['in-123456', -661064958],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['clé-ü-日本', 1074066165],
    [[0, 255, 128, 7, 1], -1171598981],
    [[255, 255, 255, 255], 644171429],
    [[1, 2, 3, 4, 5, 6, 7], -528389943],
  ];
  for (const [key, hash] of golden) {
    assert.equal(murmur2(typeof key === 'string' ? key : Buffer.from(key)), hash, `murmur2(${JSON.stringify(key)})`);
    if (typeof key === 'string') assert.equal(murmur2(Buffer.from(key)), hash, `murmur2 of ${JSON.stringify(key)} as bytes`);
  }
});

test('messages are grouped per partition in their send order', () => {
  type Message = { key: string; partition: number };
  const group = require('kafkajs/src/producer/groupMessagesPerPartition.js') as (p: {
    topic: string;
    partitionMetadata: object[];
    messages: Message[];
    partitioner: (a: { message: Message }) => number;
  }) => Record<string, Message[]>;
  const messages = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, partition: (i * 7) % 6 }));
  const grouped = group({ topic: 't', partitionMetadata: [{}], messages, partitioner: ({ message }) => message.partition });
  assert.deepEqual(Object.keys(grouped).sort(), ['0', '1', '2', '3', '4', '5']);
  for (const [partition, inPartition] of Object.entries(grouped)) {
    assert.deepEqual(inPartition, messages.filter((m) => m.partition === Number(partition)));
  }
  assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner: () => 0 }), {});
});
