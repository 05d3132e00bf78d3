#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=8 --heap-growing-percent=50 --initial-old-space-size=96
// Runs the compiled CLI in dist/ (`npm run build`; `npm install` runs it). Compiled, not through a TypeScript loader:
// tsx's loader hooks run in a thread of their own and the model worker would need its own copy, ~60 MB of RSS for
// nothing once the code is loaded (bench/README.md, "Findings").
//
// The V8 flags above are part of how streamserve ships (npm scripts, npx, the Docker image run this file as a
// program). Left to its defaults, V8 grows the main thread's heap to ~190 MB under kafkajs' allocation rate while
// little of it is live; with a 256 MB cap it sizes old space by what is live (~60 MB while draining), but then
// collects old space so often that draining is ~25% slower. Letting old space grow by half of what is live before the
// next major collection (--heap-growing-percent=50) wins most of that back at the same peak memory. Old space is
// not collected before it holds 96 MB (--initial-old-space-size=96): at moderate load V8 otherwise ran about six full
// collections a second on a ~17 MB live set, each pausing the event loop up to 25 ms (bench/README.md, "Findings").
// Tests and the benchmark start streamserve with the same flags (src/cli/nodeFlags.ts reads them from this line).
import { existsSync, readdirSync, statSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
/** Written by `npm run build` when it succeeded. */
const built = new URL('../dist/.built', import.meta.url);
const src = new URL('../src/', import.meta.url);

/** Whether a file under `dir` that `compiles` picks was modified after `time` (ms). */
function changedSince(dir, compiles, time) {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && compiles(entry.name) && statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > time) return true;
  }
  return false;
}

if (!existsSync(main) || !existsSync(built)) {
  process.stderr.write('streamserve is not built: run `npm run build` (npm install runs it), then try again.\n');
  process.exit(1);
}
// In a checkout, never run stale code: sources edited after the last build mean building again.
const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.d.ts');
if (existsSync(src) && changedSince(src, isSource, statSync(built).mtimeMs)) {
  process.stderr.write('streamserve: src/ changed since the last build: run `npm run build`, then try again.\n');
  process.exit(1);
}
await import(main.href);
