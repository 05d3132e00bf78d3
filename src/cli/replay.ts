import { ReplayJob, type ReplayArgs } from '../replay/job.js';
import { parseOffsets, parseTimestamp, type ReplayEnd, type ReplayStart } from '../replay/plan.js';
import { formatPlan, formatSummary, type Targets } from '../replay/report.js';
import { invalidArguments } from '../errors.js';
import { onStopSignals } from './signals.js';
import { commandContext, type CommandContext } from './context.js';

/**
 * `streamserve replay --to-topic T (--from-beginning | --from-timestamp ISO | --from-offsets p:o,...)
 *  [--until-timestamp ISO] [--replay-group G] [--dry-run]`: re-scores a bounded range of the input topic into T
 * through the same pipeline as `run`, then prints a summary. Exit codes: 0 complete (or dry run), 130 interrupted
 * (run it again to resume), 1 failed, 2 bad arguments.
 */
export async function replayCommand(argv: string[]): Promise<number> {
  const { config, logger, flags } = commandContext(argv, {
    'to-topic': { type: 'string' },
    'from-beginning': { type: 'boolean' },
    'from-timestamp': { type: 'string' },
    'from-offsets': { type: 'string' },
    'until-timestamp': { type: 'string' },
    'replay-group': { type: 'string' },
    'dry-run': { type: 'boolean' },
  });
  const args = replayArgs(flags);
  const out = (lines: string[]) => process.stdout.write(`${lines.join('\n')}\n`);
  const targets: Targets = { input: config.inputTopic, target: args.toTopic, deadLetters: config.dlqTopic, range: args.range };
  const job = new ReplayJob({ config, logger, args, display: process.stderr.isTTY ? 'bar' : 'log' });

  const prepared = await job.prepare().catch(async (err: unknown) => {
    await job.close();
    throw err;
  });
  if (flags['dry-run'] === true) {
    await job.close();
    out(formatPlan(prepared, targets));
    return 0;
  }

  onStopSignals(
    logger,
    (signal) => {
      logger.info({ signal }, 'interrupted: finishing what is in flight');
      job.interrupt();
    },
    'run the same command again to resume',
  );

  const result = await job.run(prepared);
  out(formatSummary(result, targets));
  logger.flush();
  return result.outcome === 'complete' ? 0 : result.outcome === 'interrupted' ? 130 : 1;
}

function replayArgs(flags: CommandContext['flags']): ReplayArgs {
  const str = (name: string) => flags[name] as string | undefined;
  const toTopic = str('to-topic');
  if (toTopic === undefined || toTopic === '') throw invalidArguments('--to-topic is required: the topic the re-scored outcomes are written to');
  const starts = ['from-beginning', 'from-timestamp', 'from-offsets'].filter((f) => flags[f] !== undefined && flags[f] !== false);
  if (starts.length !== 1) {
    throw invalidArguments(`give exactly one of --from-beginning, --from-timestamp <ISO-8601>, --from-offsets <p:o,...>${starts.length ? ` (got ${starts.map((s) => `--${s}`).join(', ')})` : ''}`);
  }
  const start: ReplayStart =
    starts[0] === 'from-beginning'
      ? { from: 'beginning' }
      : starts[0] === 'from-timestamp'
        ? { from: 'timestamp', ms: parseTimestamp('from-timestamp', str('from-timestamp')!) }
        : { from: 'offsets', offsets: parseOffsets(str('from-offsets')!) };
  const until = str('until-timestamp');
  const end: ReplayEnd = until === undefined ? { until: 'end' } : { until: 'timestamp', ms: parseTimestamp('until-timestamp', until) };
  const group = str('replay-group');
  if (group === '') throw invalidArguments('--replay-group must not be empty');
  return { toTopic, range: { start, end }, ...(group === undefined ? {} : { group }) };
}

