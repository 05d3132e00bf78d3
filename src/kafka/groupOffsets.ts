import type { Admin, Kafka } from 'kafkajs';

/** One partition's committed offset and the metadata committed with it. */
export interface CommittedEntry {
  partition: number;
  offset: string;
  metadata: string | null;
}

/**
 * Reads a group's committed offsets and a topic's offsets through one admin client, connected on first use and
 * reconnected after a failure. For lag on /status, exactly-once claims (the offset an earlier owner left) and
 * replay plans (stored as commit metadata, src/replay/planStore.ts).
 */
export class GroupOffsets {
  readonly #kafka: Kafka;
  readonly #groupId: string;
  #admin: Promise<Admin> | null = null;
  #closing: Promise<void> | null = null;
  /** Calls not yet settled: close() waits for them, or kafkajs would reconnect for their retries after the disconnect. */
  readonly #calls = new Set<Promise<unknown>>();

  constructor(kafka: Kafka, groupId: string) {
    this.#kafka = kafka;
    this.#groupId = groupId;
  }

  /** The group's committed offset of each partition of `topic` that has one. */
  async committed(topic: string): Promise<Map<number, string>> {
    const [offsets] = await this.#call((admin) => admin.fetchOffsets({ groupId: this.#groupId, topics: [topic] }));
    const out = new Map<number, string>();
    for (const p of offsets?.partitions ?? []) if (p.offset !== '-1') out.set(p.partition, p.offset);
    return out;
  }

  /** Every partition's committed entry (offset `-1` where the group has none), with its metadata. */
  async committedEntries(topic: string): Promise<CommittedEntry[]> {
    const [offsets] = await this.#call((admin) => admin.fetchOffsets({ groupId: this.#groupId, topics: [topic] }));
    return (offsets?.partitions ?? []).map((p) => ({ partition: p.partition, offset: p.offset, metadata: p.metadata ?? null }));
  }

  /** The low and high offsets of each partition of `topic`. */
  async range(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    const offsets = await this.#call((admin) => admin.fetchTopicOffsets(topic));
    return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high }));
  }

  /** Per partition, the first offset whose timestamp is at or after `ms` (the broker's time index; -1 past the end). */
  async atTime(topic: string, ms: number): Promise<Map<number, string>> {
    const offsets = await this.#call((admin) => admin.fetchTopicOffsetsByTimestamp(topic, ms));
    return new Map(offsets.map((o) => [o.partition, o.offset]));
  }

  /** The end offset (high watermark) of each partition of `topic`. */
  async ends(topic: string): Promise<Map<number, string>> {
    const offsets = await this.#call((admin) => admin.fetchTopicOffsets(topic));
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#calls]);
      const admin = await this.#admin?.catch(() => null);
      await admin?.disconnect();
    })();
    return this.#closing;
  }

  async #call<T>(request: (admin: Admin) => Promise<T>): Promise<T> {
    const call = this.#connected().then(request);
    this.#calls.add(call);
    try {
      return await call;
    } finally {
      this.#calls.delete(call);
    }
  }

  #connected(): Promise<Admin> {
    if (this.#closing) return Promise.reject(new Error('closed'));
    if (!this.#admin) {
      // Few retries: every caller asks again soon anyway (lag every few seconds, a claim with the next fetch), and a
      // long retry loop against a topic deleted meanwhile would outlive close() (kafkajs reconnects for each retry).
      const admin = this.#kafka.admin({ retry: { retries: 2 } });
      const connecting = admin.connect().then(() => admin);
      this.#admin = connecting;
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = null;
      });
    }
    return this.#admin;
  }
}
