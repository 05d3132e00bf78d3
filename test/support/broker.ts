/**
 * Where integration tests get a real broker (docs/ARCHITECTURE.md, "Seams for tests"): `KAFKA_BROKERS` if set; else testcontainers when a Docker
 * engine answers; else a local single-node Kafka started by scripts/kafka-local (Java 17 + Maven).
 *
 * `scripts/test.ts` resolves one broker per run and hands it to every test file through `KAFKA_BROKERS`, so a
 * test file calling `resolveTestBroker()` normally gets `source: 'env'` and a no-op `stop()`. Run alone, a file
 * starts (and must stop) its own broker.
 */
import { request } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker } from '../../src/kafka/localBroker.js';
import { messageOf } from '../../src/errors.js';

export interface TestBroker {
  brokers: string[];
  source: 'env' | 'testcontainers' | 'local';
  /** Idempotent; a no-op for `env`. */
  stop(): Promise<void>;
}

/** confluentinc image: @testcontainers/kafka's KafkaContainer drives the Confluent entrypoint; 8.x is KRaft. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:8.1.0';
const LOCAL_PORTS = [39092, 39192, 39292, 39392, 39492];
const DOCKER_PROBE_TIMEOUT_MS = 1500;

export async function resolveTestBroker(log: (line: string) => void = stderrLog): Promise<TestBroker> {
  const fromEnv = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (fromEnv !== undefined && fromEnv.length > 0) {
    return { brokers: fromEnv, source: 'env', stop: async () => {} };
  }
  const engine = await findDockerEngine();
  if (engine !== undefined) {
    try {
      return await startContainer(log);
    } catch (err) {
      log(`testcontainers Kafka failed (${messageOf(err)}); falling back to the local broker`);
    }
  }
  return startLocal(log);
}

async function startContainer(log: (line: string) => void): Promise<TestBroker> {
  // imported only here: loading testcontainers is slow and pointless without an engine
  const { KafkaContainer } = await import('@testcontainers/kafka');
  log(`starting ${KAFKA_IMAGE} with testcontainers`);
  const container = await new KafkaContainer(KAFKA_IMAGE)
    .withKraft()
    .withEnvironment({
      // the module sets the offsets topic to one replica but leaves transactions at the default of 3
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: '1000',
    })
    .start();
  const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`];
  log(`testcontainers Kafka ready on ${brokers.join(',')}`);
  return {
    brokers,
    source: 'testcontainers',
    stop: once(async () => {
      await container.stop({ timeout: 10_000 });
    }),
  };
}

async function startLocal(log: (line: string) => void): Promise<TestBroker> {
  let lastError: unknown;
  for (const port of LOCAL_PORTS) {
    // another run on this machine may hold the port (or take it between this check and the start)
    if (!(await canBind(port)) || !(await canBind(port + 1))) continue;
    const workDir = mkdtempSync(join(tmpdir(), `streamserve-kafka-${port}-`));
    try {
      const broker = await startLocalBroker({ port, workDir, log: (line) => log(`kafka-local: ${line}`) });
      return {
        brokers: broker.brokers,
        source: 'local',
        stop: once(async () => {
          try {
            await broker.stop();
          } finally {
            rmSync(workDir, { recursive: true, force: true });
          }
        }),
      };
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      lastError = err;
      if (!/already in use/.test(messageOf(err))) throw err;
    }
  }
  throw lastError ?? new Error(`no free port pair for a local Kafka broker among ${LOCAL_PORTS.join(', ')}`);
}

/**
 * The Docker API endpoint that answers `/_ping`, or undefined. Probes DOCKER_HOST or the usual sockets with a
 * short timeout, so a machine without an engine (only the docker client) decides in well under a second.
 */
export async function findDockerEngine(): Promise<string | undefined> {
  const dockerHost = process.env.DOCKER_HOST;
  const candidates: Array<{ socketPath: string } | { host: string; port: number }> = [];
  if (dockerHost !== undefined && dockerHost !== '') {
    if (dockerHost.startsWith('unix://')) candidates.push({ socketPath: dockerHost.slice('unix://'.length) });
    else if (dockerHost.startsWith('tcp://')) {
      const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
      candidates.push({ host: url.hostname, port: Number(url.port || 2375) });
    } else return dockerHost; // npipe:// and the like: let testcontainers handle it
  } else {
    const uid = process.getuid?.();
    const paths = [
      '/var/run/docker.sock',
      join(homedir(), '.docker/run/docker.sock'),
      join(homedir(), '.docker/desktop/docker.sock'),
      process.env.XDG_RUNTIME_DIR === undefined ? '' : join(process.env.XDG_RUNTIME_DIR, 'docker.sock'),
      uid === undefined ? '' : `/run/user/${uid}/docker.sock`,
    ];
    for (const socketPath of paths) if (socketPath !== '' && existsSync(socketPath)) candidates.push({ socketPath });
  }
  for (const target of candidates) {
    if (await pings(target)) return 'socketPath' in target ? target.socketPath : `${target.host}:${target.port}`;
  }
  return undefined;
}

function pings(target: { socketPath: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: DOCKER_PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => (promise ??= fn());
}

function stderrLog(line: string): void {
  process.stderr.write(`[test-broker] ${line}\n`);
}
