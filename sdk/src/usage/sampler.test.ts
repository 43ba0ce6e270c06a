// The sampler sees CPU burnt in this thread and in a worker thread, and the RSS of a big buffer.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BUDGETS, UsageSampler, checkBudgets } from './sampler.js';

function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('UsageSampler', () => {
  it('counts CPU of every thread, normalised by the core factor', async () => {
    const sampler = UsageSampler.start({ hz: 20, coreFactor: 2 });
    const worker = new Worker('const end = performance.now() + 400; while (performance.now() < end);', { eval: true });
    await new Promise((r) => setTimeout(r, 50));
    burn(300);
    await new Promise((r) => worker.once('exit', r));
    const u = sampler.stop();
    // How much CPU two busy threads get depends on the machine's load, so no share is asserted
    // here (the conformance budgets measure it): only that it was counted and normalised.
    expect(u.cpuPercent).toBeGreaterThan(0);
    expect(u.cpuPercentReference).toBeCloseTo(u.cpuPercent * 2, 1);
    expect(u.samples).toBeGreaterThanOrEqual(1);
    expect(sampler.samples[0]!.t).toBe(0);
    expect(sampler.stop()).toBe(u);
  });

  it('sees RSS grow with memory in use', () => {
    const sampler = UsageSampler.start();
    const big = Buffer.alloc(64 << 20, 1);
    const u = sampler.stop();
    expect(big[big.length - 1]).toBe(1);
    expect(u.rssPeakMB).toBeGreaterThan(64);
    expect(u.rssAvgMB).toBeLessThanOrEqual(u.rssPeakMB);
  });

  it('gates against the budgets and refuses nonsense options', () => {
    const base = { durationMs: 1000, samples: 10, coreFactor: 1, cpuPercent: 10 };
    expect(checkBudgets({ ...base, cpuPercentReference: 26.9, rssPeakMB: 100, rssAvgMB: 90 }).cpu.pass).toBe(true);
    const over = checkBudgets({ ...base, cpuPercentReference: 27, rssPeakMB: 827, rssAvgMB: 640 });
    expect([over.cpu.pass, over.rssPeak.pass, over.rssAvg.pass]).toEqual([false, false, false]);
    expect(over.cpu.limit).toBe(BUDGETS.cpuPercent);
    expect(() => UsageSampler.start({ hz: 0 })).toThrow(/hz/);
    expect(() => UsageSampler.start({ coreFactor: -1 })).toThrow(/coreFactor/);
  });
});
