import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * streamserve's version, from the package.json above this file (src/, dist/ and the benchmark's bench/.build/src/
 * sit one to three levels below it).
 */
export const STREAMSERVE_VERSION: string = findVersion(dirname(fileURLToPath(import.meta.url)));

function findVersion(from: string): string {
  for (let dir = from, up = 0; up < 4; dir = dirname(dir), up++) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'streamserve' && typeof pkg.version === 'string') return pkg.version;
  }
  return '0.0.0-unknown';
}
