import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The executable every launcher runs: npm scripts, npx, the Docker image. */
export const BIN = fileURLToPath(new URL('../../bin/streamserve.js', import.meta.url));

/**
 * The node flags streamserve ships with: those on `bin/streamserve.js`'s shebang line. Whatever starts
 * streamserve with `node` directly (tests, the benchmark) passes these, so it runs the way an operator's does.
 */
export function shippedNodeFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!match) throw new Error(`${BIN}: unexpected shebang line ${JSON.stringify(first)}`);
  return match[1]!.trim().split(/\s+/).filter((f) => f !== '');
}
