// Lifecycle: every transition is an event; repeated failures fail the module and the restart
// policy brings it back with backoff (restart.test.ts: past its budget, and when restarts fail).
import { describe, expect, it } from 'vitest';
import { Kernel, Lifecycle, RestartBudget, canTransition, type TransitionEvent } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';

describe('lifecycle state machine', () => {
  it('allows the documented path and refuses shortcuts with ESTATE', () => {
    const events: TransitionEvent[] = [];
    const l = new Lifecycle('m', (e) => events.push(e));
    for (const s of ['instantiated', 'initialized', 'running', 'paused', 'running', 'stopping', 'stopped'] as const) l.to(s);
    expect(events.map((e) => `${e.from}→${e.to}`)).toEqual([
      'verified→instantiated',
      'instantiated→initialized',
      'initialized→running',
      'running→paused',
      'paused→running',
      'running→stopping',
      'stopping→stopped',
    ]);
    expect(() => l.to('running')).toThrow(expect.objectContaining({ code: 'ESTATE' }));
    expect(canTransition('verified', 'running')).toBe(false);
    expect(canTransition('failed', 'instantiated')).toBe(true);
  });

  it('spends a restart budget with doubling backoff inside its window', () => {
    const b = new RestartBudget({ maxRestarts: 3, windowMs: 1000, backoffMs: 10, maxBackoffMs: 25, failureThreshold: 1 });
    expect([b.next(0), b.next(1), b.next(2)]).toEqual([10, 20, 25]);
    expect(b.spent).toBe(true);
    expect([b.next(3), b.next(4)]).toEqual([25, 25]); // spent: the longest backoff, never giving up
    expect(b.next(1500)).toBe(10); // the window has passed
    expect(b.spent).toBe(false);
  });
});

describe('module lifecycle in the kernel', () => {
  it('emits transitions on load, pause, resume and stop; a paused module refuses calls', async () => {
    const kernel = new Kernel({ trust: [trusted] });
    const events: string[] = [];
    kernel.on('transition', (e) => events.push(`${e.module}:${e.to}`));
    const m = await kernel.load(await signed('hostile'));
    m.pause();
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array(1))).rejects.toMatchObject({ code: 'ESTATE' });
    m.resume();
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array(1))).resolves.toHaveLength(1);
    await kernel.stop();
    expect(events).toEqual(['instantiated', 'initialized', 'running', 'paused', 'running', 'stopping', 'stopped'].map((s) => `test.hostile:${s}`));
  });

  it('fails a module after repeated traps, restarts it after backoff, and it serves again', async () => {
    const kernel = new Kernel({ trust: [trusted], restart: { failureThreshold: 3, backoffMs: 20, maxRestarts: 2, windowMs: 60_000 } });
    const events: TransitionEvent[] = [];
    kernel.on('transition', (e) => events.push(e));
    await kernel.load(await signed('hostile'));
    for (let i = 0; i < 3; i++) await expect(kernel.call('test.hostile', 'trap', new Uint8Array(0))).rejects.toMatchObject({ code: 'ETRAP' });
    expect(kernel.module('test.hostile').state).toBe('failed');
    expect(events.at(-1)).toMatchObject({ to: 'failed', reason: expect.stringContaining('3 failed calls in a row') });
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array(1))).rejects.toMatchObject({ code: 'ESTATE' });
    await new Promise((r) => setTimeout(r, 100));
    expect(kernel.module('test.hostile').state).toBe('running');
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array(1))).resolves.toHaveLength(1);
    expect(kernel.metrics()['test.hostile']!.restarts).toBeGreaterThanOrEqual(3);
    await kernel.stop();
  });
});
