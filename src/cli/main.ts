import { isStreamserveError, ErrorCodes } from '../errors.js';
import { redactText } from '../redact.js';
import { consumeCommand } from './consume.js';
import { demoCommand } from './demo.js';
import { generateCommand, produceCommand } from './produce.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { topicsCommand } from './topics.js';
import { trainCommand } from './train.js';

const commands: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: 'consume inputs, score them, publish predictions and dead letters (and serve HTTP with HTTP_PORT)' },
  serve: { run: serveCommand, help: 'serve the model over HTTP only (POST /predict, Open Inference Protocol v2), no broker' },
  replay: { run: replayCommand, help: 're-score a range of the input topic into --to-topic (--from-beginning | --from-timestamp | --from-offsets)' },
  demo: { run: demoCommand, help: 'end to end on a local broker: publish sample inputs, score them, show the result' },
  train: { run: trainCommand, help: 'train the example borehole model into weights/borehole (deterministic)' },
  topics: { run: topicsCommand, help: 'create the input, output and dead-letter topics [--partitions N]' },
  produce: { run: produceCommand, help: 'publish JSON lines (stdin or --file) as Avro inputs' },
  generate: { run: generateCommand, help: 'publish N random borehole inputs [--count N --seed S]' },
  consume: { run: consumeCommand, help: 'print predictions (or --dead-letters) as JSON lines' },
};

/** How long a finished command may take to let go of its last handles before the process exits anyway. */
const EXIT_GRACE_MS = 2000;

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(9)} ${c.help}`);
  return `usage: streamserve <command> [--flags]\n\ncommands:\n${lines.join('\n')}\n\nSettings come from flags, environment variables and --config FILE; see README.md.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (isStreamserveError(err)) {
      process.stderr.write(redactText(`streamserve ${name}: ${err.code}: ${err.message}\n`));
      return err.code === ErrorCodes.CONFIG_INVALID ? 2 : 1;
    }
    process.stderr.write(redactText(`streamserve ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Every command closes what it opened before it returns. A handle a client library failed to release must still not
// keep the process alive (an orchestrator would wait out its grace period and SIGKILL; a script would hang), so it
// is named and the process exits. The timer does not itself hold the process.
setTimeout(() => {
  process.stderr.write(`streamserve: still running ${EXIT_GRACE_MS} ms after finishing (open: ${process.getActiveResourcesInfo().join(', ')}); exiting\n`);
  process.exit(code);
}, EXIT_GRACE_MS).unref();
