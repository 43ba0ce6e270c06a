// `call` between modules under attack: the inline tier refuses before the callee starts, agents
// are never reached this way, callers that break a shared plugin pay for it themselves, and two
// call trees waiting on each other get EBUSY instead of a deadlock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeCbor, type Grant } from '@mcp0/abi';
import { Kernel, type KvProvider } from '@mcp0/kernel';
import { signed, trusted } from '../../test/fixtures.js';
import { TestKv } from './memory-kv.js';

const CAPS_GRANTS: Grant[] = [{ name: 'call' }, { name: 'crypto' }, { name: 'emit' }, { name: 'kv' }];
const relay = (target: string, exportName: string, input: unknown = {}) => encodeCbor({ target, export: exportName, input: encodeCbor(input as never) });

/** A kv store whose puts wait for `open()` while `closed`: holds a module busy inside a host call. */
class GatedKv implements KvProvider {
  readonly inner = new TestKv();
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  waiting = 0;

  close(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  open(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  get(ns: string, key: string) {
    return this.inner.get(ns, key);
  }
  async put(ns: string, key: string, value: Uint8Array) {
    if (this.#gate) {
      this.waiting++;
      await this.#gate;
    }
    this.inner.put(ns, key, value);
  }
  delete(ns: string, key: string) {
    return this.inner.delete(ns, key);
  }
  scan(ns: string, prefix: string, limit: number, after?: string) {
    return this.inner.scan(ns, prefix, limit, after);
  }
}

describe('call between modules', () => {
  let kernel: Kernel | undefined;
  afterEach(() => kernel?.stop());

  it('refuses in the inline tier before the callee runs, so nothing happens behind the caller', async () => {
    const kv = new TestKv();
    kernel = new Kernel({ trust: [trusted], providers: { kv } });
    await kernel.load(await signed('caps'), { grants: CAPS_GRANTS });
    await expect(kernel.call('test.caps', 'relay', relay('test.caps', 'keys', { n: 3 }))).rejects.toMatchObject({
      code: 'EUNAVAILABLE',
      message: expect.stringContaining('worker tier'),
    });
    // A callee left running detached would have queued behind the relay: this call comes after it.
    await kernel.callValue('test.caps', 'digest', { data: new Uint8Array(1) });
    expect(kv.scan('test.caps', 'caps/', 10)).toEqual([]);
  });

  it('never reaches an agent: agents run only as operations, through their admit hooks', async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv(), agentKv: new TestKv() } });
    await kernel.load(await signed('caps'), { isolation: 'worker', grants: CAPS_GRANTS });
    const agent = await kernel.load(await signed('counter'), { name: 'test.peer', grants: [{ name: 'kv' }] });
    await expect(kernel.call('test.caps', 'relay', relay('test.peer', 'increment', { by: 1 }))).rejects.toMatchObject({
      code: 'EPERM',
      message: expect.stringContaining('agent'),
    });
    expect(agent.meter.snapshot().calls).toBe(0);
  });

  it("charges a callee's traps to the caller: the shared plugin keeps serving, the caller fails", async () => {
    kernel = new Kernel({ trust: [trusted], providers: { kv: new TestKv() }, restart: { failureThreshold: 3, backoffMs: 60_000, maxBackoffMs: 60_000 } });
    const shared = await kernel.load(await signed('hostile'), { isolation: 'worker' });
    const caller = await kernel.load(await signed('caps'), { isolation: 'worker', grants: CAPS_GRANTS });
    for (let i = 0; i < 3; i++) {
      await expect(kernel.call('test.caps', 'relay', relay('test.hostile', 'trap'))).rejects.toMatchObject({ code: 'ETRAP' });
    }
    expect(caller.state).toBe('failed');
    expect(shared.state).toBe('running');
    expect(shared.meter.snapshot().restarts).toBe(3); // each trapped instance was replaced
    await expect(kernel.call('test.hostile', 'ok', new Uint8Array([7]))).resolves.toEqual(new Uint8Array([7]));
  });

  it('answers EBUSY to the second of two call trees that would wait on each other', async () => {
    const kv = new GatedKv();
    kernel = new Kernel({ trust: [trusted], providers: { kv }, restart: { failureThreshold: 100 } });
    for (const name of ['test.caps', 'test.peer', 'test.slow'])
      await kernel.load(await signed('caps'), { name, isolation: 'worker', grants: CAPS_GRANTS, timeoutMs: 30_000 });
    kv.close();
    // Tree 1 holds test.peer, inside test.slow's gated kv put, and will call test.caps next.
    const tree1 = kernel
      .call(
        'test.peer',
        'relay2',
        encodeCbor({
          first: { target: 'test.slow', export: 'keys', input: encodeCbor({ n: 1 }) },
          then: { target: 'test.caps', export: 'digest', input: encodeCbor({ data: new Uint8Array(1) }) },
        }),
      )
      .then(
        () => 'ok',
        (e: { code: string }) => e.code,
      );
    await vi.waitFor(() => expect(kv.waiting).toBe(1), { timeout: 30_000 });
    // Tree 2 holds test.caps and waits for test.peer.
    const tree2 = kernel.call('test.caps', 'relay', relay('test.peer', 'digest', { data: new Uint8Array(1) })).then(
      () => 'ok',
      (e: { code: string }) => e.code,
    );
    await vi.waitFor(() => expect(kernel!.module('test.caps').waitingFor?.name).toBe('test.peer'), { timeout: 30_000 });
    kv.open();
    // Tree 1's second call would close the cycle test.peer → test.caps → test.peer: refused, not waited on.
    expect(await tree1).toBe('EBUSY');
    expect(await tree2).toBe('ok');
  });
});
