// Metering: the histogram's percentiles and the running totals (the cost formula is tested in @mcp0/abi).
import { describe, expect, it } from 'vitest';
import { Histogram, Meter } from './metering.js';

describe('metering', () => {
  it('gives percentiles within a bucket of the truth', () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(500);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(500 * 1.25);
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(990);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(1000);
    expect(h.max).toBe(1000);
    expect(new Histogram().quantile(0.5)).toBe(0);
  });

  it('accumulates calls, errors by code, bytes and memory', () => {
    const m = new Meter();
    m.record(10, 3, 4, undefined, 2);
    m.record(20, 1, 0, 'ETRAP');
    expect(m.snapshot()).toMatchObject({ calls: 2, errors: 1, errorsByCode: { ETRAP: 1 }, bytesIn: 4, bytesOut: 4, memoryPages: 2, costUnits: 6 });
  });
});
