import { Partitioners, type PartitionOffset } from 'kafkajs';
import type { KafkaClient } from './client.js';

/**
 * Commits offsets with metadata for a group that has no members yet, in one transaction: a group without members
 * takes offsets only from a transactional producer or a member, and kafkajs' admin cannot attach metadata.
 */
export async function commitOffsetsInTransaction(
  kafka: KafkaClient,
  options: { transactionalId: string; group: string; topic: string; partitions: readonly { partition: number; offset: string; metadata: string }[] },
): Promise<void> {
  const producer = kafka.producer({
    transactionalId: options.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await producer.connect();
    const tx = await producer.transaction();
    try {
      // kafkajs passes `metadata` through to TxnOffsetCommit, though its types leave it out.
      const partitions = options.partitions.map((p): PartitionOffset & { metadata: string } => ({ ...p }));
      await tx.sendOffsets({ consumerGroupId: options.group, topics: [{ topic: options.topic, partitions }] });
      await tx.commit();
    } catch (err) {
      if (tx.isActive()) await tx.abort().catch(() => {});
      throw err;
    }
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
