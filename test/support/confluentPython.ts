/**
 * Confluent's Python client (`confluent-kafka[avro,schemaregistry]` from PyPI) in a virtual environment under
 * .cache/venv, installed on first use. A failed install fails the test that needs it: never a skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VENV = `${ROOT}.cache/venv`;
const PYTHON = `${VENV}/bin/python`;
const SCRIPT = fileURLToPath(new URL('./confluent_client.py', import.meta.url));
const PACKAGE = 'confluent-kafka[avro,schemaregistry]';

let ready: string | undefined;

/** The venv's python with Confluent's client importable; creates the venv and installs the package when needed. */
export function confluentPython(): string {
  if (ready) return ready;
  const importable = () => existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import confluent_kafka.schema_registry.avro, fastavro'], { stdio: 'ignore' }).status === 0;
  if (!importable()) {
    const system = process.env.PYTHON ?? 'python3';
    const steps: [string, string[]][] = [
      [system, ['-m', 'venv', VENV]],
      [PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', PACKAGE]],
    ];
    for (const [cmd, args] of steps) {
      if (cmd === system && existsSync(PYTHON)) continue;
      const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });
      if (result.status !== 0) {
        throw new Error(`installing ${PACKAGE} into ${VENV} failed (${cmd} ${args.join(' ')}: exit ${result.status}): ${result.error?.message ?? ''}${result.stderr.slice(-2000)}`);
      }
    }
    if (!importable()) throw new Error(`${PACKAGE} installed into ${VENV} but does not import`);
  }
  return (ready = PYTHON);
}

export interface PythonBatch {
  /** The writer schema (Avro JSON) the serializer registers under `<topic>-value` and frames values with. */
  schema: object;
  records: { key: string; value: Record<string, unknown> }[];
}

/** Produces each batch with Confluent's AvroSerializer (auto-registering its schema); the schema id of each batch. */
export async function pythonProduce(brokers: string[], registryUrl: string, topic: string, batches: PythonBatch[]): Promise<number[]> {
  const input = batches.map((b) => JSON.stringify({ schema: JSON.stringify(b.schema), records: b.records })).join('\n') + '\n';
  const lines = await runPython(['produce', brokers.join(','), registryUrl, topic], input, 180_000);
  return lines.map((line) => (JSON.parse(line) as { schemaId: number }).schemaId);
}

export interface PythonRead {
  key: string | null;
  partition: number;
  offset: number;
  schemaId: number;
  value: Record<string, unknown>;
}

/** Reads `count` messages (read_committed) with Confluent's AvroDeserializer, or what came within `timeoutS`. */
export async function pythonConsume(brokers: string[], registryUrl: string, topic: string, count: number, timeoutS = 60): Promise<PythonRead[]> {
  const lines = await runPython(['consume', brokers.join(','), registryUrl, topic, String(count), String(timeoutS)], '', (timeoutS + 60) * 1000);
  return lines.map((line) => JSON.parse(line) as PythonRead);
}

function runPython(args: string[], input: string, timeoutMs: number): Promise<string[]> {
  const python = confluentPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`confluent_client.py ${args[0]} exited ${code ?? signal}: ${stderr.slice(-3000)}`));
      else resolve(stdout.split('\n').filter((l) => l.trim() !== ''));
    });
    child.stdin.end(input);
  });
}
