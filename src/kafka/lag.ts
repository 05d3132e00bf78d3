import type { Logger } from 'pino';
import type { GroupOffsets } from './groupOffsets.js';
import type { OffsetTracker } from './offsetTracker.js';
import type { TopicPartition } from './inputConsumer.js';

export interface PartitionStatus {
  topic: string;
  partition: number;
  committedOffset: string | null;
  highWatermark: string | null;
  lag: number | null;
  inflight: number;
  paused: boolean;
}

const REFRESH_MS = 5000;

/**
 * Lag of the assigned partitions for /status and /metrics: high watermarks seen in fetches (refreshed from the
 * broker every few seconds, so an idle or paused partition still shows its lag) against the committed offsets.
 */
export class LagWatch {
  readonly #topic: string;
  readonly #offsets: Pick<GroupOffsets, 'committed' | 'ends'>;
  readonly #tracker: OffsetTracker;
  readonly #log: Logger;
  readonly #highWatermarks = new Map<number, string>();
  /** Committed offsets read from the broker: the position of partitions we have not committed yet ourselves. */
  readonly #brokerCommitted = new Map<number, string>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(options: { topic: string; offsets: Pick<GroupOffsets, 'committed' | 'ends'>; tracker: OffsetTracker; logger: Logger }) {
    this.#topic = options.topic;
    this.#offsets = options.offsets;
    this.#tracker = options.tracker;
    this.#log = options.logger;
  }

  start(): void {
    if (this.#stopped) return;
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
  }

  /** A fetch reported the partition's high watermark. */
  seen(partition: number, highWatermark: string): void {
    this.#highWatermarks.set(partition, highWatermark);
  }

  async refresh(): Promise<void> {
    if (this.#stopped) return;
    try {
      const [ends, committed] = await Promise.all([this.#offsets.ends(this.#topic), this.#offsets.committed(this.#topic)]);
      for (const [partition, high] of ends) this.#highWatermarks.set(partition, high);
      for (const [partition, offset] of committed) this.#brokerCommitted.set(partition, offset);
    } catch (err) {
      this.#log.debug({ err }, 'cannot refresh watermarks');
    }
  }

  status(assigned: readonly TopicPartition[], paused: boolean): PartitionStatus[] {
    return assigned.map(({ topic, partition }) => {
      const committedOffset = this.#tracker.committedOffset(topic, partition) ?? this.#brokerCommitted.get(partition) ?? null;
      const highWatermark = this.#highWatermarks.get(partition) ?? null;
      const lag = highWatermark === null ? null : Math.max(0, Number(highWatermark) - Number(committedOffset ?? 0));
      return { topic, partition, committedOffset, highWatermark, lag, inflight: this.#tracker.pendingCount(topic, partition), paused };
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
