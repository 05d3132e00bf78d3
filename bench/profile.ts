/**
 * Where the time goes: reads the --cpu-prof profiles of one streamserve child (the main thread and the model worker
 * each write one) and sums self time by component and by function, counting only samples between the group join and
 * the last commit (V8's profile clock and process.hrtime are the same monotonic clock), so loading, compiling and
 * shutting down are left out.
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
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ThreadProfile {
  thread: string;
  file: string;
  /** Sampled wall time inside the window, ms. */
  windowMs: number;
  /** Share of the window not idle. */
  busy: number;
  /** Self time share of the window by component, largest first. */
  byComponent: { component: string; share: number }[];
  /** Self time share by function, largest first. */
  topFunctions: { fn: string; component: string; share: number }[];
}

function component(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'V8/native (program)';
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
  const comps = new Map<string, number>();
  const fns = new Map<string, { component: string; us: number }>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const comp = component(frame);
    comps.set(comp, (comps.get(comp) ?? 0) + us);
    const key = frame.url ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : frame.functionName || '(anonymous)';
    const f = fns.get(key) ?? { component: comp, us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const share = (us: number) => (total === 0 ? 0 : Math.round((us / total) * 1000) / 1000);
  return {
    thread,
    file,
    windowMs: Math.round(total / 1000),
    busy: share(total - (comps.get('idle') ?? 0)),
    byComponent: [...comps].sort((a, b) => b[1] - a[1]).map(([c, us]) => ({ component: c, share: share(us) })),
    topFunctions: [...fns]
      .filter(([, f]) => f.component !== 'idle')
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 15)
      .map(([fn, f]) => ({ fn, component: f.component, share: share(f.us) })),
  };
}

/** Summaries of every profile in `dir` (file names CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile). */
export function summarizeProfiles(dir: string, windowUs: [number, number]): { threads: ThreadProfile[] } {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const threads = files.map((f) => {
    const tid = Number(f.split('.')[4]);
    return summarizeOne(join(dir, f), tid === 0 ? 'main' : `worker ${tid}`, windowUs);
  });
  return { threads: threads.filter((t) => t.windowMs > 0).sort((a, b) => a.thread.localeCompare(b.thread)) };
}
