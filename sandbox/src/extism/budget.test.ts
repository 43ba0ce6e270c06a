// The host-memory budget on its own: what it refuses, and that a refusal lasts the call (its use
// by both tiers is tested through the kernel, kernel/test/sandbox.test.ts).
import { describe, expect, it } from 'vitest';
import { AllocationBudget, LimitError } from './budget.js';

const MiB = 1 << 20;

describe('AllocationBudget', () => {
  it('refuses a charge that is not a byte count, and stays refused for the call', () => {
    const budget = new AllocationBudget(16 * MiB);
    for (const n of [NaN, -1, Infinity, 2 ** 60]) {
      budget.begin();
      expect(() => budget.charge(n)).toThrow(LimitError);
      expect(() => budget.charge(1)).toThrow(/more than 16777216 bytes/);
      expect(budget.exceeded).toMatchObject({ code: 'EMEMORY', details: { limit: 16 * MiB, requested: n } });
    }
    budget.begin();
    budget.charge(16 * MiB);
    expect(() => budget.charge(1)).toThrow(LimitError);
  });

  it('starts every call from zero', () => {
    const budget = new AllocationBudget(1024);
    budget.begin();
    budget.charge(1024);
    budget.begin();
    expect(() => budget.charge(1024)).not.toThrow();
    expect(budget.exceeded).toBeUndefined();
  });
});
