/**
 * `npx tsx bench/headers.ts`: what streamserve's six lineage headers cost kafkajs per output record. Times kafkajs'
 * own record encoder (protocol/recordBatch/record/v0, the function behind every produce request) on a prediction-
 * sized value, with no headers, with the headers as strings (what streamserve sends) and as Buffers. No broker.
 */
import { createRequire } from 'node:module';

type EncodeRecord = (r: { offsetDelta: number; timestampDelta: number; key: Buffer; value: Buffer; headers: Record<string, string | Buffer> }) => { buffer: Buffer };
const require = createRequire(import.meta.url);
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as EncodeRecord;

const value = Buffer.alloc(110, 1); // an encoded BoreholePrediction is ~110 bytes
const key = Buffer.from('in-123456');
const strings: Record<string, string> = {
  'streamserve.source.topic': 'borehole-inputs',
  'streamserve.source.partition': '3',
  'streamserve.source.offset': '123456',
  'streamserve.model.name': 'borehole',
  'streamserve.model.version': '1.0.0',
  'streamserve.runtime': 'tfjs-wasm',
};
const buffers = Object.fromEntries(Object.entries(strings).map(([k, v]) => [k, Buffer.from(v)]));
const variants: [string, Record<string, string | Buffer>][] = [
  ['no headers', {}],
  ['6 headers, strings (as streamserve sends them)', strings],
  ['6 headers, Buffers', buffers],
  [
    '5 headers, no model name, constants as cached Buffers',
    { ...Object.fromEntries(Object.entries(buffers).filter(([k]) => k !== 'streamserve.model.name')), 'streamserve.source.offset': '123456' },
  ],
  ['2 headers (source partition and offset)', { 'streamserve.source.partition': '3', 'streamserve.source.offset': '123456' }],
];
const N = 200_000;
for (let round = 0; round < 3; round++) {
  for (const [name, headers] of variants) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) encodeRecord({ offsetDelta: i, timestampDelta: 0, key, value, headers });
    if (round > 0) process.stdout.write(`${name.padEnd(48)} ${(((performance.now() - t0) * 1000) / N).toFixed(2)} µs per record\n`);
  }
}
