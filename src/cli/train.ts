import { BackendNames, type BackendName } from '../model/backendNames.js';
import { invalidArguments } from '../errors.js';
import { commandContext, intFlag } from './context.js';

/**
 * `streamserve train`: trains the example borehole model deterministically and writes it to --out. Training loads
 * TensorFlow.js on this thread, so it is imported only here: every other command keeps it off the main thread.
 */
export async function trainCommand(argv: string[]): Promise<number> {
  const { trainBorehole, TRAIN_DEFAULTS } = await import('../model/train.js');
  const { flags } = commandContext(argv, {
    out: { type: 'string' },
    seed: { type: 'string' },
    samples: { type: 'string' },
    epochs: { type: 'string' },
    version: { type: 'string' },
    'train-backend': { type: 'string' },
  });
  const backend = (flags['train-backend'] as string | undefined) ?? TRAIN_DEFAULTS.backend;
  if (!BackendNames.includes(backend as BackendName)) {
    throw invalidArguments(`--train-backend must be one of ${BackendNames.join(', ')}`);
  }
  const report = await trainBorehole({
    outDir: (flags.out as string | undefined) ?? 'weights/borehole',
    seed: intFlag(flags, 'seed', TRAIN_DEFAULTS.seed),
    samples: intFlag(flags, 'samples', TRAIN_DEFAULTS.samples, 1),
    epochs: intFlag(flags, 'epochs', TRAIN_DEFAULTS.epochs, 1),
    backend: backend as BackendName,
    version: (flags.version as string | undefined) ?? TRAIN_DEFAULTS.version,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `held-out accuracy on ${report.heldoutSamples} uniform random inputs: MAPE ${(report.mape * 100).toFixed(3)}%, ` +
      `max APE ${(report.maxApe * 100).toFixed(2)}% (${report.accepted ? 'accepted' : 'REJECTED: above 1%'}), ` +
      `trained in ${report.trainSeconds.toFixed(1)} s on ${report.backend}\n`,
  );
  return report.accepted ? 0 : 1;
}
