// cli-progress draws one line in place, throttled to a frame rate, fitted to the terminal and with the cursor
// restored on exit — terminal handling we would otherwise write and test ourselves. It is already a dependency, and
// it is only used when stderr is a terminal.
import cliProgress from 'cli-progress';
import type { Logger } from 'pino';
import { formatDuration, progressLine, type ReplayStatus } from './progress.js';

/** Shows replay progress while it runs: a bar on a terminal, a log line every few seconds otherwise. */
export interface ProgressDisplay {
  update(status: ReplayStatus): void;
  /** Draws the final state and releases the terminal. Idempotent. */
  stop(status: ReplayStatus): void;
}

export interface DisplayOptions {
  /** A progress bar (stderr is a terminal) or plain log lines. */
  mode: 'bar' | 'log' | 'none';
  logger: Logger;
  stream?: NodeJS.WritableStream;
  /** Log mode: at most one line per this many ms. */
  logIntervalMs?: number;
  now?: () => number;
}

export function createProgressDisplay(options: DisplayOptions): ProgressDisplay {
  if (options.mode === 'bar') return barDisplay(options.stream ?? process.stderr);
  if (options.mode === 'log') return logDisplay(options.logger, options.logIntervalMs ?? 5000, options.now ?? Date.now);
  return { update() {}, stop() {} };
}

function barDisplay(stream: NodeJS.WritableStream): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'replay [{bar}] {percentage}% | {value}/{total} records | {rate}/s | ETA {etaText}',
      hideCursor: true,
      fps: 5,
      gracefulExit: false, // our own signal handler stops the replay, and the bar with it
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const payload = (s: ReplayStatus) => ({ rate: s.rate, etaText: formatDuration(s.eta) });
  return {
    update(s) {
      if (stopped) return;
      if (!started) {
        bar.start(s.total, s.done, payload(s));
        started = true;
      } else bar.update(s.done, payload(s));
    },
    stop(s) {
      if (stopped) return;
      this.update(s);
      stopped = true;
      bar.stop();
    },
  };
}

function logDisplay(logger: Logger, intervalMs: number, now: () => number): ProgressDisplay {
  const log = logger.child({ component: 'replay' });
  let last = -Infinity;
  let stopped = false;
  const line = (s: ReplayStatus) =>
    log.info({ done: s.done, total: s.total, percent: s.percent, rate: s.rate, eta: s.eta }, `replay progress: ${progressLine(s)}`);
  return {
    update(s) {
      if (stopped || now() - last < intervalMs) return;
      last = now();
      line(s);
    },
    stop(s) {
      if (stopped) return;
      stopped = true;
      line(s);
    },
  };
}
