// Known answers for the cost-unit formula every role that prices or proves cost relies on.
import { describe, expect, it } from 'vitest';
import { costUnits } from './cost.js';

describe('costUnits', () => {
  it('charges one per call, per started millisecond and per started KiB', () => {
    expect(costUnits(0, 0, 0)).toBe(1);
    expect(costUnits(1500, 10, 2000)).toBe(5);
    expect(costUnits(1000, 1024, 0)).toBe(3);
    expect(costUnits(1001, 1024, 1)).toBe(5);
  });
});
