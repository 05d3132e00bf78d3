export interface FetchWatchOptions {
  /** A fetch outstanding this long with nothing completed since means the node is not answering. */
  stallMs: number;
  /** A node with no fetch started for this long is no longer fetched from (e.g. it left the cluster): left out. */
  forgetMs: number;
  now?: () => number;
}

interface NodeFetches {
  /** A fetch started and has not completed (or failed, and kafkajs will start another). */
  pending: boolean;
  started: number;
  /** The last completed fetch; for a node not yet answered, its first fetch's start. */
  completed: number;
}

/**
 * Whether fetches get answers, per broker node, from kafkajs' FETCH_START and FETCH events. A healthy node answers
 * each fetch within the fetch's max wait; while its broker is away, kafkajs keeps starting fetches (retries) and
 * none completes. So a node stalls when a fetch is pending and nothing has completed for `stallMs`. Idle input still
 * fetches (empty answers), so idleness is not a stall.
 */
export class FetchWatch {
  readonly #o: FetchWatchOptions;
  readonly #now: () => number;
  #nodes = new Map<number, NodeFetches>();

  constructor(options: FetchWatchOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  started(nodeId: number): void {
    const now = this.#now();
    const node = this.#nodes.get(nodeId);
    if (node) {
      node.pending = true;
      node.started = now;
    } else this.#nodes.set(nodeId, { pending: true, started: now, completed: now });
  }

  completed(nodeId: number): void {
    const node = this.#nodes.get(nodeId);
    if (!node) return;
    node.pending = false;
    node.completed = this.#now();
  }

  /** A new group generation: kafkajs starts new fetchers, possibly for other nodes. */
  reset(): void {
    this.#nodes.clear();
  }

  /** Nodes whose fetches have gone unanswered for `stallMs`, with how long (ms). */
  stalled(): { nodeId: number; sinceMs: number }[] {
    const now = this.#now();
    const out: { nodeId: number; sinceMs: number }[] = [];
    for (const [nodeId, n] of this.#nodes) {
      if (n.pending && now - n.completed >= this.#o.stallMs && now - n.started < this.#o.forgetMs) {
        out.push({ nodeId, sinceMs: now - n.completed });
      }
    }
    return out;
  }
}
