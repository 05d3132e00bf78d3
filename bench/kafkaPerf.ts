/**
 * (a) The broker's ceiling, measured with Apache Kafka's own tools on the broker's classpath
 * (scripts/kafka-local/kafka-local.sh tool …): ProducerPerformance at the record size of our Avro inputs, and
 * ConsumerPerformance reading the pre-loaded Avro input topic itself. ConsumerPerformance's fetch rate excludes the
 * group join (it reports rebalance time separately); ProducerPerformance times from its first send.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/kafka-local/kafka-local.sh', import.meta.url));
const live = new Set<ReturnType<typeof spawn>>();

export interface ProducerPerfResult {
  records: number;
  rate: number;
  mbPerSec: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
}

export interface ConsumerPerfResult {
  records: number;
  /** fetch.nMsg.sec: records per second excluding the group join. */
  rate: number;
  mbPerSec: number;
  rebalanceMs: number;
}

function runTool(mainClass: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // its own process group, so that a kill reaches the JVM that bash started, not only bash
    const child = spawn('bash', [SCRIPT, 'tool', mainClass, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`${mainClass} gave no result within ${timeoutMs} ms: ${out.slice(-500)}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${mainClass} exited with ${code}: ${out.slice(-800)}`));
    });
  });
}

export async function producerPerformance(p: { brokers: string[]; topic: string; records: number; recordSize: number; timeoutMs: number }): Promise<ProducerPerfResult> {
  const out = await runTool(
    'org.apache.kafka.tools.ProducerPerformance',
    [
      '--topic', p.topic, '--num-records', String(p.records), '--record-size', String(p.recordSize), '--throughput', '-1',
      // the same delivery settings as streamserve's sink: acks=all, idempotent
      '--producer-props', `bootstrap.servers=${p.brokers.join(',')}`, 'acks=all', 'enable.idempotence=true',
    ],
    p.timeoutMs,
  );
  const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.*?([\d.]+) ms 99th/.exec(out);
  if (!m) throw new Error(`cannot read ProducerPerformance output: ${out.slice(-500)}`);
  return { records: Number(m[1]), rate: Number(m[2]), mbPerSec: Number(m[3]), avgLatencyMs: Number(m[4]), p99LatencyMs: Number(m[5]) };
}

export async function consumerPerformance(p: { brokers: string[]; topic: string; records: number; group: string; timeoutMs: number }): Promise<ConsumerPerfResult> {
  const out = await runTool(
    'org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', p.brokers.join(','), '--topic', p.topic, '--messages', String(p.records), '--group', p.group, '--timeout', '30000'],
    p.timeoutMs,
  );
  // header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms,
  //         fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const line = out.split('\n').find((l) => /^\d{4}-\d\d-\d\d .*,/.test(l));
  const f = line?.split(',').map((s) => s.trim());
  if (!f || f.length < 10) throw new Error(`cannot read ConsumerPerformance output: ${out.slice(-500)}`);
  return { records: Number(f[4]), rate: Number(f[9]), mbPerSec: Number(f[8]), rebalanceMs: Number(f[6]) };
}

/** Kills the Kafka tools still running (error and signal paths). */
export function killAllTools(): void {
  for (const child of live) killGroup(child);
}

function killGroup(child: ReturnType<typeof spawn>): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
