#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=8 --heap-growing-percent=50
// Runs the TypeScript CLI through tsx so the package works from a checkout without a build step.
//
// The V8 flags above are part of how streamserve ships (npm scripts, npx, the Docker image run this file as a
// program). Left to its defaults, V8 grows the main thread's heap to ~190 MB under kafkajs' allocation rate while
// little of it is live; with a 256 MB cap it sizes old space by what is live (~60 MB while draining), but then
// collects old space so often that draining is ~25% slower. Letting old space grow by half of what is live before the
// next major collection (--heap-growing-percent=50) wins most of that back at the same peak memory (bench/README.md,
// "Findings"). Tests and the benchmark start streamserve with the same flags (src/cli/nodeFlags.ts reads them from
// this line).
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
