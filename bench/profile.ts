/**
 * Where the time goes: reads the --cpu-prof profiles of one streamserve child (the main thread and the model worker
 * each write one) and sums time three ways, counting only samples between the group join and the last commit (V8's
 * profile clock and process.hrtime are the same monotonic clock), so loading, compiling and shutting down are left
 * out:
 *
 * - self time by component (the package or src/ directory of the function on top of the stack);
 * - the same, with Node built-ins (Buffer, socket writes, postMessage) charged to the component that called them;
 * - by path: the sample's whole synchronous stack decides — encoding and writing produce requests, fetching and
 *   decoding input batches, Avro, the pipeline, calling the model worker. Work resumed after an `await` has only the
 *   frames since then on its stack, so this attribution is a lower bound for each path.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  share: number;
}

export interface ThreadProfile {
  thread: string;
  file: string;
  /** Sampled wall time inside the window, ms. */
  windowMs: number;
  /** Share of the window not idle. */
  busy: number;
  /** Self time share of the window by component, largest first. */
  byComponent: Share[];
  /** Self time with Node built-ins charged to their caller's component. */
  byCaller: Share[];
  /** Inclusive time by path (see above). */
  byPath: Share[];
  /** Self time share by function, largest first. */
  topFunctions: { fn: string; component: string; share: number }[];
}

const BUILTIN = new Set(['node internals', 'native', 'V8/native (program)']);

function component(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
  if (url.startsWith('wasm://')) return 'tfjs (wasm kernels)';
  if (url.includes('node_modules/kafkajs')) return 'kafkajs';
  if (url.includes('node_modules/avsc')) return 'avsc';
  if (url.includes('node_modules/@tensorflow')) return 'tfjs';
  if (/node_modules\/(pino|sonic-boom|thread-stream)/.test(url)) return 'logging';
  if (url.includes('node_modules/prom-client')) return 'prom-client';
  if (/node_modules\/(tsx|esbuild|get-tsconfig)/.test(url)) return 'tsx';
  const src = /\/src\/([a-z]+)\//.exec(url);
  if (src) return `streamserve ${src[1]}`;
  if (url.includes('/src/')) return 'streamserve';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return 'native';
  return 'other';
}

/** The path a stack belongs to, from its frames' URLs, most specific first. */
const PATHS: { name: string; test: (url: string, fn: string) => boolean }[] = [
  { name: 'produce: kafkajs encodes and writes produce requests', test: (u) => /kafkajs\/src\/(producer|protocol\/requests\/produce|protocol\/recordBatch\/(v0\/index|record\/v0\/index))/.test(u) },
  { name: 'fetch: kafkajs fetches and decodes input batches', test: (u) => /kafkajs\/src\/(consumer|protocol\/requests\/fetch|protocol\/recordBatch\/(v0\/decoder|record\/v0\/decoder))/.test(u) },
  { name: 'model call: posting rows to the worker and taking results', test: (u, f) => /src\/model\/workerModel/.test(u) || (u === '' && f === 'postMessage') },
  { name: 'Avro decode / encode (avsc)', test: (u) => u.includes('node_modules/avsc') || /src\/codec\//.test(u) },
  { name: 'pipeline: featurize, batch, outcomes, offsets', test: (u) => /src\/pipeline\//.test(u) },
  { name: 'kafkajs other (network, commits, heartbeats)', test: (u) => u.includes('node_modules/kafkajs') },
  { name: 'metrics and logging', test: (u) => /node_modules\/(prom-client|pino|sonic-boom)|src\/admin\//.test(u) },
  { name: 'tfjs (model worker)', test: (u) => u.includes('node_modules/@tensorflow') || u.startsWith('wasm://') },
];

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return url.replace(/^file:\/\//, '');
}

function summarizeOne(file: string, thread: string, window: [number, number]): ThreadProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < window[0] || t > window[1]) continue;
    // a sample stands for the time until the next one
    const weight = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + weight);
    total += weight;
  }
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  const comps = new Map<string, number>();
  const callers = new Map<string, number>();
  const paths = new Map<string, number>();
  const fns = new Map<string, { component: string; us: number }>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const comp = component(frame);
    add(comps, comp, us);
    // walk the stack once: the first non-built-in caller, and the most specific path
    let caller: string | null = BUILTIN.has(comp) ? null : comp;
    let path: number = PATHS.length;
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      if (caller === null) {
        const c = component(f);
        if (!BUILTIN.has(c) && f.functionName !== '(root)') caller = c;
      }
      const p = PATHS.findIndex((x) => x.test(f.url, f.functionName));
      if (p >= 0 && p < path) path = p;
    }
    add(callers, caller ?? comp, us);
    add(paths, comp === 'idle' || comp === 'GC' ? comp : (PATHS[path]?.name ?? 'other'), us);
    const key = frame.url ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : frame.functionName || '(anonymous)';
    const f = fns.get(key) ?? { component: comp, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const share = (us: number) => (total === 0 ? 0 : Math.round((us / total) * 1000) / 1000);
  const shares = (m: Map<string, number>): Share[] => [...m].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, share: share(us) }));
  return {
    thread,
    file,
    windowMs: Math.round(total / 1000),
    busy: share(total - (comps.get('idle') ?? 0)),
    byComponent: shares(comps),
    byCaller: shares(callers),
    byPath: shares(paths),
    topFunctions: [...fns]
      .filter(([, f]) => f.component !== 'idle')
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 15)
      .map(([fn, f]) => ({ fn, component: f.component, share: share(f.us) })),
  };
}

/** Summaries of every profile in `dir` (file names CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile). */
export function summarizeProfiles(dir: string, windowUs: [number, number]): { windowUs: [number, number]; threads: ThreadProfile[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const threads = files.map((f) => {
    const tid = Number(f.split('.')[4]);
    return summarizeOne(join(dir, f), tid === 0 ? 'main' : `worker ${tid}`, windowUs);
  });
  return { windowUs, threads: threads.filter((t) => t.windowMs > 0).sort((a, b) => a.thread.localeCompare(b.thread)) };
}
