/**
 * `npm test`: runs the test files with Node's test runner, one file at a time, against one broker per run.
 *
 *   tsx scripts/test.ts                 everything: unit, integration, fault
 *   tsx scripts/test.ts unit            test/unit only (no broker)
 *   tsx scripts/test.ts integration     test/integration only
 *   tsx scripts/test.ts fault           test/fault only (broker kills, crashes; slow)
 *   tsx scripts/test.ts <file|dir>...   just those (a broker when any is outside test/unit)
 *
 * Suites combine (`unit fault`). The broker comes from test/support/broker.ts (KAFKA_BROKERS, testcontainers, or
 * the local script) and reaches the test files as KAFKA_BROKERS. It is stopped on every path, SIGINT included.
 * The run ends with TAP-style `# pass N` / `# fail N` lines and exits with the test runner's exit code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveTestBroker, type TestBroker } from '../test/support/broker.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUITES = { unit: 'test/unit', integration: 'test/integration', fault: 'test/fault' } as const;
type Suite = keyof typeof SUITES;
/** Per-test safety net so a hung test fails the run instead of hanging CI; not a substitute for closing handles. */
const TEST_TIMEOUT_MS = 600_000;
const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'] as const;

class UsageError extends Error {}

function isSuite(arg: string): arg is Suite {
  return Object.hasOwn(SUITES, arg);
}

function testFilesUnder(dir: string): string[] {
  const absolute = resolve(ROOT, dir);
  if (!existsSync(absolute)) return [];
  if (statSync(absolute).isFile()) return [relative(ROOT, absolute)];
  return readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.test.ts'))
    .map((file) => relative(ROOT, join(absolute, file)))
    .sort();
}

function selectFiles(args: string[]): string[] {
  const targets = args.length === 0 ? ['unit', 'integration', 'fault'] : args;
  const files = new Set<string>();
  for (const target of targets) {
    if (!isSuite(target) && !existsSync(resolve(ROOT, target))) {
      throw new UsageError(`unknown suite or path: ${target} (suites: ${Object.keys(SUITES).join(', ')})`);
    }
    for (const file of testFilesUnder(isSuite(target) ? SUITES[target] : target)) files.add(file);
  }
  return [...files];
}

function needsBroker(files: string[]): boolean {
  return files.some((file) => !file.startsWith(join(SUITES.unit) + sep));
}

/** Passes the runner's output through and remembers its final summary counts (spec: `ℹ pass 3`; tap: `# pass 3`). */
function tee(child: ChildProcess, summary: Map<string, string>): void {
  let pending = '';
  const pattern = new RegExp(`^(?:ℹ|#) (${SUMMARY_KEYS.join('|')}) (\\S+)$`);
  child.stdout?.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const match = pattern.exec(line.replace(/\x1b\[[0-9;]*m/g, '').trim());
      if (match) summary.set(match[1]!, match[2]!);
    }
  });
}

async function main(): Promise<number> {
  const files = selectFiles(process.argv.slice(2));
  if (files.length === 0) {
    console.log('no test files found');
    console.log('# tests 0\n# pass 0\n# fail 0');
    return 0;
  }

  let child: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined || child === undefined) {
      // second signal, or still starting the broker: get out fast (the finally below still stops the broker)
      child?.kill('SIGKILL');
    } else {
      child.kill(signal);
    }
    interrupted = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let broker: TestBroker | undefined;
  const summary = new Map<string, string>();
  let exitCode = 1;
  try {
    if (needsBroker(files)) {
      // Integration and fault tests run streamserve as it ships (bin/streamserve.js runs dist/): build what they run.
      build();
      const started = Date.now();
      try {
        broker = await resolveTestBroker();
      } catch (err) {
        if (interrupted !== undefined) return 130; // the start script was interrupted with us
        throw err;
      }
      console.error(`[test] broker ${broker.brokers.join(',')} (${broker.source}) ready in ${Date.now() - started} ms`);
    }
    if (interrupted !== undefined) return 130;

    const env: NodeJS.ProcessEnv = { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1' };
    if (broker !== undefined) env.KAFKA_BROKERS = broker.brokers.join(',');
    if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = '1';
    const args = [
      '--import',
      'tsx',
      '--test',
      '--test-concurrency=1',
      '--test-reporter=spec',
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      ...files,
    ];
    const running = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['inherit', 'pipe', 'inherit'] });
    child = running;
    tee(running, summary);
    exitCode = await new Promise<number>((resolveExit, reject) => {
      running.once('error', reject);
      running.once('close', (code, signal) => resolveExit(code ?? (signal === null ? 1 : 128 + signalNumber(signal))));
    });
  } finally {
    if (broker !== undefined) {
      await broker.stop().catch((err: unknown) => console.error('[test] stopping the broker failed:', err));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  // the summary goes last, after the broker's shutdown lines, where CI logs and people look for it
  if (summary.size > 0) {
    for (const key of SUMMARY_KEYS) if (summary.has(key)) console.log(`# ${key} ${summary.get(key)}`);
  } else {
    console.log(`# no summary from the test runner (exit code ${exitCode})`);
  }
  if (interrupted !== undefined && exitCode === 0) return 130;
  return exitCode;
}

/** `npm run build`: compiles src/ into dist/ (incremental, a second or two when nothing changed). */
function build(): void {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (${result.error?.message ?? `exit code ${result.status}`})`);
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal] ?? 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('[test]', err instanceof UsageError ? err.message : err);
    process.exitCode = 1;
  },
);
