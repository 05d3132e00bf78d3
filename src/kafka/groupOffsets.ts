import type { Admin, Kafka } from 'kafkajs';

/**
 * Reads a group's committed offsets and a topic's end offsets through one admin client, connected on first use and
 * reconnected after a failure. For lag on /status and for exactly-once claims (the offset an earlier owner left).
 */
export class GroupOffsets {
  readonly #kafka: Kafka;
  readonly #groupId: string;
  #admin: Promise<Admin> | null = null;
  #closing: Promise<void> | null = null;

  constructor(kafka: Kafka, groupId: string) {
    this.#kafka = kafka;
    this.#groupId = groupId;
  }

  /** The group's committed offset of each partition of `topic` that has one. */
  async committed(topic: string): Promise<Map<number, string>> {
    const [offsets] = await (await this.#connected()).fetchOffsets({ groupId: this.#groupId, topics: [topic] });
    const out = new Map<number, string>();
    for (const p of offsets?.partitions ?? []) if (p.offset !== '-1') out.set(p.partition, p.offset);
    return out;
  }

  /** The end offset (high watermark) of each partition of `topic`. */
  async ends(topic: string): Promise<Map<number, string>> {
    const offsets = await (await this.#connected()).fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const admin = await this.#admin?.catch(() => null);
      await admin?.disconnect();
    })();
    return this.#closing;
  }

  #connected(): Promise<Admin> {
    if (this.#closing) return Promise.reject(new Error('closed'));
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      const connecting = admin.connect().then(() => admin);
      this.#admin = connecting;
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = null;
      });
    }
    return this.#admin;
  }
}
