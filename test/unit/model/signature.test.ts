import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, StreamserveError } from '../../../src/errors.js';
import { BOREHOLE_FIELDS, BOREHOLE_RANGES } from '../../../src/model/borehole.js';
import { loadSignature, parseSignature, scaleInput, unscaleOutput } from '../../../src/model/signature.js';

const WEIGHTS = new URL('../../../weights/borehole/', import.meta.url).pathname;

function isCode(code: string) {
  return (err: unknown) => err instanceof StreamserveError && err.code === code;
}

const valid = {
  name: 'm',
  version: '1',
  inputs: [{ field: 'a', transform: 'log', center: 1, scale: 2, min: 1, max: 10 }],
  outputs: [{ field: 'y' }],
};

describe('signature', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamserve-signature-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('fills defaults', () => {
    const s = parseSignature({ ...valid, inputs: [{ field: 'a' }] });
    assert.equal(s.idField, 'id');
    assert.equal(s.eventTimeField, 'event_time');
    assert.deepEqual(s.inputs[0], { field: 'a', transform: 'identity', center: 0, scale: 1 });
  });

  it('refuses a file that is not JSON, a missing file and an invalid document with SIGNATURE_INVALID', async () => {
    const notJson = join(dir, 'not-json.json');
    await writeFile(notJson, '{"name": ');
    await assert.rejects(loadSignature(notJson), isCode(ErrorCodes.SIGNATURE_INVALID));
    await assert.rejects(loadSignature(join(dir, 'absent.json')), isCode(ErrorCodes.SIGNATURE_INVALID));
    const noInputs = join(dir, 'no-inputs.json');
    await writeFile(noInputs, JSON.stringify({ ...valid, inputs: [] }));
    await assert.rejects(loadSignature(noInputs), (err: unknown) => isCode(ErrorCodes.SIGNATURE_INVALID)(err) && /inputs/.test(String(err)));
  });

  it('refuses bad columns, naming the path of each problem', () => {
    const bad = [
      { ...valid, inputs: [{ field: 'a', transform: 'log', min: 0 }] }, // log needs min > 0
      { ...valid, inputs: [{ field: 'a', min: 5, max: 1 }] },
      { ...valid, inputs: [{ field: 'a', scale: 0 }] },
      { ...valid, outputs: [{ field: '' }] },
      { ...valid, inputs: [{ field: 'a', transform: 'sqrt' }] },
    ];
    for (const doc of bad) assert.throws(() => parseSignature(doc), isCode(ErrorCodes.SIGNATURE_INVALID), JSON.stringify(doc));
    assert.throws(() => parseSignature({ ...valid, version: '' }), /version/);
  });

  it('scales and unscales with the column transform', () => {
    const column = { field: 'a', kind: 'value' as const, transform: 'log' as const, center: 1, scale: 2 };
    assert.equal(scaleInput(column, Math.E ** 5), 2);
    assert.ok(Math.abs(unscaleOutput(column, 2) - Math.E ** 5) < 1e-9);
  });

  it('the committed borehole signature maps the borehole fields in order with their ranges', async () => {
    const s = await loadSignature(join(WEIGHTS, 'signature.json'));
    assert.equal(s.name, 'borehole');
    assert.deepEqual(s.inputs.map((c) => c.field), [...BOREHOLE_FIELDS]);
    for (const c of s.inputs) assert.deepEqual([c.min, c.max], [...BOREHOLE_RANGES[c.field as keyof typeof BOREHOLE_RANGES]]);
    assert.deepEqual(s.outputs.map((c) => c.field), ['flow_rate']);
    assert.ok(typeof s.training?.['heldoutMape'] === 'number' && s.training['heldoutMape'] <= 0.01);
  });
});

describe('signatures for classifiers and named tensors', () => {
  const classifier = {
    name: 'iris',
    version: '1',
    inputs: [{ field: 'a', tensor: 'input' }],
    outputs: [
      { field: 'species', kind: 'label', tensor: 'label', classes: ['x', 'y'] },
      { field: 'p', kind: 'probabilities', tensor: 'probabilities', classes: ['x', 'y'] },
    ],
  };

  it('reads label and probabilities outputs; an output without kind is a value, as before', () => {
    const s = parseSignature(classifier);
    assert.deepEqual(s.outputs.map((o) => o.kind), ['label', 'probabilities']);
    assert.equal(s.inputs[0]!.tensor, 'input');
    assert.equal(parseSignature(valid).outputs[0]!.kind, 'value');
  });

  it('refuses mixed or repeated classes, an unknown kind, an output field written twice and an unknown activation', () => {
    const bad = [
      { ...classifier, outputs: [{ field: 'l', kind: 'label', classes: ['x', 1] }] },
      { ...classifier, outputs: [{ field: 'l', kind: 'label', classes: ['x', 'x'] }] },
      { ...classifier, outputs: [{ field: 'l', kind: 'ranking' }] },
      { ...classifier, outputs: [{ field: 'y' }, { field: 'y', kind: 'label', classes: [1] }] },
      { ...valid, activations: ['gelu'] },
    ];
    for (const doc of bad) assert.throws(() => parseSignature(doc), isCode(ErrorCodes.SIGNATURE_INVALID), JSON.stringify(doc));
  });
});
