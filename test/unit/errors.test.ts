import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ErrorCodes, RecordError, Stages, StreamserveError, isStreamserveError, messageOf } from '../../src/errors.js';
import { repoPath } from './support.js';

describe('ErrorCodes', () => {
  test('every code equals its key', () => {
    for (const [key, value] of Object.entries(ErrorCodes)) assert.equal(value, key);
  });

  test('codes are unique and stable-looking (UPPER_SNAKE_CASE)', () => {
    const values = Object.values(ErrorCodes);
    assert.equal(new Set(values).size, values.length);
    for (const code of values) assert.match(code, /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  test('README.md documents every error code, and only those, in its Error codes table', () => {
    const path = repoPath('README.md');
    assert.ok(existsSync(path), 'README.md does not exist; it must list every error code');
    const readme = readFileSync(path, 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Error codes'));
    assert.ok(section, 'README.md has an "## Error codes" section');
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
    const codes: string[] = Object.values(ErrorCodes);
    const missing = codes.filter((c) => !documented.includes(c));
    const stale = documented.filter((c) => !codes.includes(c));
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'README error-code table vs ErrorCodes');
    assert.equal(new Set(documented).size, documented.length, 'each code documented once');
  });
});

describe('StreamserveError and RecordError', () => {
  test('carry code, retryable (default false) and cause', () => {
    const cause = new Error('socket closed');
    const err = new StreamserveError(ErrorCodes.PRODUCE_FAILED, 'could not write', { retryable: true, cause });
    assert.equal(err.code, 'PRODUCE_FAILED');
    assert.equal(err.retryable, true);
    assert.equal(err.cause, cause);
    assert.equal(err.message, 'could not write');
    assert.ok(err instanceof Error);
    const plain = new StreamserveError(ErrorCodes.CONFIG_INVALID, 'bad');
    assert.equal(plain.retryable, false);
    assert.equal(plain.cause, undefined);
  });

  test('a RecordError is a StreamserveError with a stage', () => {
    const err = new RecordError('validate', ErrorCodes.OUT_OF_RANGE, 'too big');
    assert.ok(err instanceof StreamserveError);
    assert.ok(isStreamserveError(err));
    assert.equal(err.stage, 'validate');
    assert.equal(err.code, 'OUT_OF_RANGE');
    assert.equal(err.retryable, false);
  });

  test('isStreamserveError is false for other errors and values', () => {
    assert.equal(isStreamserveError(new Error('x')), false);
    assert.equal(isStreamserveError({ code: 'CONFIG_INVALID' }), false);
    assert.equal(isStreamserveError(undefined), false);
  });

  test('messageOf gives the message of any thrown value', () => {
    assert.equal(messageOf(new Error('boom')), 'boom');
    assert.equal(messageOf('plain string'), 'plain string');
    assert.equal(messageOf(42), '42');
  });

  test('stages are the four the design names, in path order', () => {
    assert.deepEqual([...Stages], ['decode', 'validate', 'infer', 'encode']);
  });
});
