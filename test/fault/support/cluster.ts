/**
 * A broker of the scenario's own (to stop, kill and restart without touching the run's shared broker), and the
 * group's progress as Kafka records it: committed offsets against end offsets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker, type LocalBroker } from '../../../src/kafka/localBroker.js';
import { messageOf } from '../../../src/errors.js';
import { createKafka, withTimeout } from '../../support/kafka.js';
import { KafkaProxy } from '../../support/kafkaProxy.js';

export interface OwnBroker {
  broker: LocalBroker;
  /** With `proxy: true`: the proxy every client connection goes through (the broker advertises its port). */
  proxy?: KafkaProxy;
  /** Stops the broker (SIGKILL if a controlled stop fails) and removes its data. Idempotent; never throws. */
  cleanup(): Promise<void>;
}

/**
 * Starts a single-node Kafka on a free port pair below the ephemeral range (a restart must find its port free
 * again, and an outgoing connection never takes a port from there), in a temporary directory. `authorizer`: ACLs
 * enforced, everything allowed until a test adds a DENY ACL (scripts/kafka-local/kafka-local.sh KAFKA_AUTHORIZER).
 * `proxy`: a KafkaProxy on port + 2 in front of the broker, advertised in its place.
 */
export async function startOwnBroker(log: (line: string) => void = () => {}, options: { authorizer?: boolean; proxy?: boolean } = {}): Promise<OwnBroker> {
  let lastError: unknown;
  for (let tries = 0; tries < 5; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!(await canBind(port)) || !(await canBind(port + 1)) || (options.proxy === true && !(await canBind(port + 2)))) continue;
    const workDir = mkdtempSync(join(tmpdir(), `streamserve-fault-kafka-${port}-`));
    let proxy: KafkaProxy | undefined;
    try {
      if (options.proxy === true) proxy = await KafkaProxy.start({ port: port + 2, targetPort: port });
      const broker = await startLocalBroker({
        port,
        workDir,
        log,
        ...(options.authorizer === undefined ? {} : { authorizer: options.authorizer }),
        ...(proxy === undefined ? {} : { advertisedPort: proxy.port }),
      });
      let done: Promise<void> | undefined;
      return {
        broker,
        ...(proxy === undefined ? {} : { proxy }),
        cleanup: () =>
          (done ??= (async () => {
            await withTimeout(broker.stop(), 60_000, 'own broker stop').catch(() => withTimeout(broker.kill(), 30_000, 'own broker kill'));
          })()
            .catch((err: unknown) => log(`own broker on ${port} did not stop: ${messageOf(err)}`))
            .finally(() => {
              rmSync(workDir, { recursive: true, force: true });
              return proxy?.close();
            })),
      };
    } catch (err) {
      await proxy?.close();
      rmSync(workDir, { recursive: true, force: true });
      lastError = err;
    }
  }
  throw lastError ?? new Error('no free port pair for an own broker');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export interface GroupProgress {
  /** End offset minus committed offset, summed over the topic's partitions (uncommitted partitions count whole). */
  lag: number;
  committed: number;
  end: number;
}

/** The group's committed progress on `topic`, as any Kafka tool would report it. */
export async function groupProgress(brokers: string[], groupId: string, topic: string): Promise<GroupProgress> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    let lag = 0;
    let done = 0;
    let end = 0;
    for (const e of ends) {
      const c = byPartition.get(e.partition) ?? -1;
      const from = c < 0 ? Number(e.low) : c;
      lag += Math.max(0, Number(e.high) - from);
      done += from - Number(e.low);
      end += Number(e.high) - Number(e.low);
    }
    return { lag, committed: done, end };
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}
