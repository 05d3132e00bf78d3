/**
 * The HTTP load generator of bench/http.ts, a process of its own so its CPU is not the server's: single-row
 * `POST /predict` requests over keep-alive connections (node:http, the lightest client in Node), either
 *
 * - `closed`: `connections` callers, each sending its next request when its last is answered — the saturation rate;
 * - `open`: request k sent at t0 + k / rate whatever the server does; latency is answer time − *scheduled* time, so
 *   a server (or a generator) that falls behind adds to the latency instead of hiding it.
 *
 * Argument: one JSON object (LoadSpec). Prints one JSON object (LoadResult) on stdout.
 */
import { Agent, request } from 'node:http';
import { sampleBoreholeInputs } from '../src/index.js';

export interface LoadSpec {
  mode: 'closed' | 'open';
  url: string;
  /** closed: concurrent callers; open: the most connections kept (a request waits for a free one). */
  connections: number;
  /** open: requests per second. */
  rate?: number;
  warmupMs: number;
  /** The longest measured window; SIGUSR2 ends it sooner (the orchestrator's "the drain is over"). */
  measureMs: number;
}

export interface LoadResult {
  sent: number;
  answered: number;
  /** Answers other than 200, by status ("error" for a failed connection). */
  failures: Record<string, number>;
  /** Answered requests per second in the measured window. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The generator's own CPU in the measured window, in cores (1 = one core busy). */
  generatorCpuCores: number;
}

const bodies = sampleBoreholeInputs(1000, 77).map((x, i) => Buffer.from(JSON.stringify({ id: `load-${i}`, ...x })));

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  const start = performance.now();
  const measureFrom = start + spec.warmupMs;
  let end = measureFrom + spec.measureMs;
  process.once('SIGUSR2', () => (end = Math.max(measureFrom, Math.min(end, performance.now()))));
  let cpuAtMeasure: NodeJS.CpuUsage | null = null;
  const cpuTimer = setTimeout(() => (cpuAtMeasure = process.cpuUsage()), spec.warmupMs);

  /** Sends one request; resolves when answered. `scheduled` is when it should have gone out. */
  const send = (scheduled: number): Promise<void> =>
    new Promise((resolve) => {
      const body = bodies[sent++ % bodies.length]!;
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            // Counted by when it was due: a request sent in the window counts however late its answer.
            if (scheduled >= measureFrom && scheduled <= end) {
              if (res.statusCode === 200) {
                answered++;
                latencies.push(now - scheduled);
              } else failures[String(res.statusCode)] = (failures[String(res.statusCode)] ?? 0) + 1;
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        if (scheduled >= measureFrom && scheduled <= end) failures.error = (failures.error ?? 0) + 1;
        resolve();
      });
      req.end(body);
    });

  if (spec.mode === 'closed') {
    await Promise.all(
      Array.from({ length: spec.connections }, async () => {
        while (performance.now() < end) await send(performance.now());
      }),
    );
  } else {
    const rate = spec.rate!;
    const inFlight = new Set<Promise<void>>();
    let k = 0;
    while (performance.now() < end) {
      const now = performance.now();
      // Everything that has come due is sent now, each stamped with its own scheduled time.
      while (start + (k * 1000) / rate <= now) {
        const p = send(start + (k * 1000) / rate);
        inFlight.add(p);
        void p.then(() => inFlight.delete(p));
        k++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inFlight);
  }
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpuAtMeasure ?? undefined);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const result: LoadResult = {
    sent,
    answered,
    failures,
    rps: answered / (Math.max(1, end - measureFrom) / 1000),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    generatorCpuCores: (cpu.user + cpu.system) / 1000 / Math.max(1, end - measureFrom),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
