import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOREHOLE_FIELDS, BOREHOLE_RANGES, borehole, mulberry32, sampleBoreholeInputs } from '../../../src/model/borehole.js';

// Reference values computed independently (Python, float64) from the published formula.
describe('borehole', () => {
  it('matches reference values at the centre and at two corners', () => {
    const centre = { rw: 0.1, r: 25050, Tu: 89335, Hu: 1050, Tl: 89.55, Hl: 760, L: 1400, Kw: 10950 };
    assert.ok(Math.abs(borehole(centre) - 70.87291263681894) < 1e-9);
    const low = { rw: 0.05, r: 100, Tu: 63070, Hu: 990, Tl: 63.1, Hl: 820, L: 1680, Kw: 9855 };
    assert.ok(Math.abs(borehole(low) - 7.825324150682227) < 1e-9);
    const high = { rw: 0.15, r: 50000, Tu: 115600, Hu: 1110, Tl: 116, Hl: 700, L: 1120, Kw: 12045 };
    assert.ok(Math.abs(borehole(high) - 307.59327954191957) < 1e-9);
  });

  it('lists the eight fields in column order with their ranges', () => {
    assert.deepEqual([...BOREHOLE_FIELDS], ['rw', 'r', 'Tu', 'Hu', 'Tl', 'Hl', 'L', 'Kw']);
    assert.deepEqual(Object.keys(BOREHOLE_RANGES), [...BOREHOLE_FIELDS]);
    assert.deepEqual(BOREHOLE_RANGES.r, [100, 50000]);
  });
});

describe('mulberry32', () => {
  it('produces the reference sequence for a seed', () => {
    const random = mulberry32(1);
    assert.deepEqual([random(), random(), random()], [0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});

describe('sampleBoreholeInputs', () => {
  it('is deterministic in (count, seed) and differs between seeds', () => {
    assert.deepEqual(sampleBoreholeInputs(50, 7), sampleBoreholeInputs(50, 7));
    assert.notDeepEqual(sampleBoreholeInputs(50, 7), sampleBoreholeInputs(50, 8));
    // A longer draw starts with the shorter one, so tests can grow their sample without changing earlier rows.
    assert.deepEqual(sampleBoreholeInputs(100, 7).slice(0, 50), sampleBoreholeInputs(50, 7));
  });

  it('stays inside the ranges and spreads across them', () => {
    const inputs = sampleBoreholeInputs(5000, 123);
    assert.equal(inputs.length, 5000);
    for (const field of BOREHOLE_FIELDS) {
      const [min, max] = BOREHOLE_RANGES[field];
      const values = inputs.map((x) => x[field]);
      assert.ok(values.every((v) => v >= min && v <= max), `${field} out of range`);
      const width = max - min;
      // Uniform: with 5000 draws the extremes come within 1 % of the bounds and the mean near the middle.
      assert.ok(Math.min(...values) < min + 0.01 * width, `${field} min`);
      assert.ok(Math.max(...values) > max - 0.01 * width, `${field} max`);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      assert.ok(Math.abs(mean - (min + max) / 2) < 0.03 * width, `${field} mean`);
    }
  });

  it('returns nothing for count 0 and refuses a bad count', () => {
    assert.deepEqual(sampleBoreholeInputs(0, 1), []);
    assert.throws(() => sampleBoreholeInputs(-1, 1), RangeError);
    assert.throws(() => sampleBoreholeInputs(1.5, 1), RangeError);
  });
});
