/**
 * Smoke test of the test broker itself: what streamserve relies on works — partitioned topics with keyed,
 * ordered delivery, consumer groups, and transactions that commit outputs and input offsets atomically.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin, Producer } from 'kafkajs';
import { resolveTestBroker, type TestBroker } from '../../support/broker.js';
import { createKafka, createTopics, readAll, uniqueName, waitFor, withTimeout } from '../../support/kafka.js';

describe('test broker', () => {
  let broker: TestBroker;

  before(async () => {
    broker = await resolveTestBroker();
  });
  after(async () => {
    await broker.stop();
  });

  it('keeps per-partition order of 100 keyed messages on a 3-partition topic', async (t) => {
    const topic = uniqueName('smoke-keyed');
    await createTopics(broker.brokers, [{ topic, partitions: 3 }], t);
    const producer = createKafka(broker.brokers).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    t.after(() => withTimeout(producer.disconnect(), 10_000, 'producer disconnect'));

    const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
    const sent = Array.from({ length: 100 }, (_, i) => ({ key: keys[i % keys.length]!, value: `${i}` }));
    await producer.send({ topic, acks: -1, messages: sent });

    const read = await readAll(broker.brokers, topic, { timeoutMs: 20_000 });

    assert.equal(read.length, 100);
    assert.deepEqual(read.map((m) => Number(m.value?.toString())).sort((a, b) => a - b), sent.map((_, i) => i));
    const partitions = new Set(read.map((m) => m.partition));
    assert.ok(partitions.size > 1, `keys spread over partitions, got ${[...partitions].join(',')}`);
    for (const partition of partitions) {
      const inPartition = read.filter((m) => m.partition === partition);
      const offsets = inPartition.map((m) => Number(m.offset));
      assert.deepEqual(offsets, offsets.map((_, i) => i), `partition ${partition}: contiguous offsets from 0`);
      const values = inPartition.map((m) => Number(m.value?.toString()));
      assert.deepEqual(values, [...values].sort((a, b) => a - b), `partition ${partition}: send order kept`);
    }
    for (const key of keys) {
      const partitionsOfKey = new Set(read.filter((m) => m.key?.toString() === key).map((m) => m.partition));
      assert.equal(partitionsOfKey.size, 1, `${key} lives in one partition`);
    }
  });

  it('commits outputs and consumer offsets in one transaction; aborted ones stay invisible', async (t) => {
    const input = uniqueName('smoke-tx-in');
    const output = uniqueName('smoke-tx-out');
    const groupId = uniqueName('smoke-tx-group');
    await createTopics(broker.brokers, [{ topic: input, partitions: 1 }, { topic: output, partitions: 2 }], t);

    const kafka = createKafka(broker.brokers);
    const plain = kafka.producer();
    const admin: Admin = kafka.admin();
    const transactional: Producer = kafka.producer({
      transactionalId: uniqueName('smoke-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await Promise.all([plain.connect(), admin.connect(), transactional.connect()]);
    t.after(async () => {
      await Promise.all([
        withTimeout(plain.disconnect(), 10_000, 'producer disconnect'),
        withTimeout(admin.disconnect(), 10_000, 'admin disconnect'),
        withTimeout(transactional.disconnect(), 10_000, 'transactional producer disconnect'),
      ]);
    });
    await plain.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ value: `in-${i}` })) });

    const committedOffset = async (): Promise<string | undefined> => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [input] });
      return entry?.partitions.find((p) => p.partition === 0)?.offset;
    };
    const transaction = async (values: string[], nextOffset: number, outcome: 'commit' | 'abort'): Promise<void> => {
      const tx = await transactional.transaction();
      try {
        await tx.send({ topic: output, messages: values.map((value) => ({ key: value, value })) });
        await tx.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: input, partitions: [{ partition: 0, offset: String(nextOffset) }] }],
        });
      } catch (err) {
        await tx.abort();
        throw err;
      }
      await (outcome === 'commit' ? tx.commit() : tx.abort());
    };

    await transaction(['out-0', 'out-1', 'out-2', 'out-3', 'out-4'], 5, 'commit');
    await waitFor(async () => (await committedOffset()) === '5', { message: 'offset 5 committed by the transaction' });

    await transaction(['aborted-5', 'aborted-6', 'aborted-7', 'aborted-8', 'aborted-9'], 10, 'abort');
    assert.equal(await committedOffset(), '5', 'an aborted transaction commits no offsets');

    await transaction(['out-5', 'out-6', 'out-7', 'out-8', 'out-9'], 10, 'commit');
    await waitFor(async () => (await committedOffset()) === '10', { message: 'offset 10 committed by the transaction' });

    const committed = await readAll(broker.brokers, output, { isolation: 'read_committed' });
    assert.deepEqual(
      committed.map((m) => m.value?.toString()).sort(),
      Array.from({ length: 10 }, (_, i) => `out-${i}`).sort(),
      'read_committed sees exactly the committed outputs',
    );
    const everything = await readAll(broker.brokers, output, { isolation: 'read_uncommitted' });
    assert.equal(everything.length, 15, 'the aborted outputs were written, only hidden from read_committed');
    assert.equal(everything.filter((m) => m.value?.toString().startsWith('aborted-')).length, 5);
  });

  // kafkajs 2.2.4 started at most one aborted transaction per message it read, so a reader whose fetch began after
  // several aborted transactions had begun let some of their messages through. patches/kafkajs+2.2.4.patch fixes
  // it; this fails without the patch (streamserve reads its inputs read_committed, and its dead-letter topic's one
  // partition interleaves the transactions of every instance).
  it('hides aborted transactions from a read_committed reader that starts after several of them began', async (t) => {
    const topic = uniqueName('smoke-tx-interleaved');
    const groupId = uniqueName('smoke-tx-interleaved-group');
    await createTopics(broker.brokers, [{ topic, partitions: 1 }], t);
    const kafka = createKafka(broker.brokers);
    const producers = [1, 2, 3].map((n) =>
      kafka.producer({ transactionalId: uniqueName(`smoke-tx-${n}`), idempotent: true, maxInFlightRequests: 1 }),
    );
    const plain = kafka.producer();
    const admin = kafka.admin();
    await Promise.all([plain.connect(), admin.connect(), ...producers.map((p) => p.connect())]);
    t.after(async () => {
      await Promise.all(
        [plain, admin, ...producers].map((client, i) => withTimeout(client.disconnect(), 10_000, `client ${i} disconnect`)),
      );
    });

    // offsets 0, 1, 2: each producer opens a transaction; 3, 4: two more aborted messages after the reader's start
    const [t1, t2, t3] = await Promise.all(producers.map((p) => p.transaction()));
    await t1!.send({ topic, messages: [{ value: 'aborted-1a' }] });
    await t2!.send({ topic, messages: [{ value: 'aborted-2a' }] });
    await t3!.send({ topic, messages: [{ value: 'aborted-3a' }] });
    await t3!.send({ topic, messages: [{ value: 'aborted-3b' }] });
    await t1!.send({ topic, messages: [{ value: 'aborted-1b' }] });
    await Promise.all([t1!.abort(), t2!.abort(), t3!.abort()]);
    await plain.send({ topic, acks: -1, messages: [{ value: 'committed' }] });

    const everything = await readAll(broker.brokers, topic, { isolation: 'read_uncommitted' });
    assert.deepEqual(
      everything.map((m) => [Number(m.offset), m.value?.toString()]).slice(0, 5),
      [[0, 'aborted-1a'], [1, 'aborted-2a'], [2, 'aborted-3a'], [3, 'aborted-3b'], [4, 'aborted-1b']],
      'the layout this test needs: three transactions begun before offset 3',
    );
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] });

    const read = await readAll(broker.brokers, topic, { groupId, timeoutMs: 20_000 });
    assert.deepEqual(read.map((m) => m.value?.toString()), ['committed'], 'nothing of the aborted transactions is read');
  });

  // The broker lists a fetch's aborted transactions in the order they ended; kafkajs 2.2.4 took them as if ordered
  // by first offset, so one that began first but aborted last was never noticed (the patch sorts them, as the Java
  // consumer does). Fails without the patch.
  it('hides a transaction that began before, and aborted after, another aborted one', async (t) => {
    const topic = uniqueName('smoke-tx-nested');
    await createTopics(broker.brokers, [{ topic, partitions: 1 }], t);
    const kafka = createKafka(broker.brokers);
    const outer = kafka.producer({ transactionalId: uniqueName('smoke-tx-outer'), idempotent: true, maxInFlightRequests: 1 });
    const inner = kafka.producer({ transactionalId: uniqueName('smoke-tx-inner'), idempotent: true, maxInFlightRequests: 1 });
    const plain = kafka.producer();
    await Promise.all([outer.connect(), inner.connect(), plain.connect()]);
    t.after(async () => {
      await Promise.all([outer, inner, plain].map((p, i) => withTimeout(p.disconnect(), 10_000, `producer ${i} disconnect`)));
    });

    const first = await outer.transaction();
    await first.send({ topic, messages: [{ value: 'aborted-outer' }] }); // offset 0
    const second = await inner.transaction();
    await second.send({ topic, messages: [{ value: 'aborted-inner' }] }); // offset 1
    await second.abort(); // marker at 2: listed first
    await first.abort(); // marker at 3
    await plain.send({ topic, acks: -1, messages: [{ value: 'committed' }] });

    const read = await readAll(broker.brokers, topic, { timeoutMs: 20_000 });
    assert.deepEqual(read.map((m) => m.value?.toString()), ['committed'], 'nothing of either aborted transaction is read');
  });
});
