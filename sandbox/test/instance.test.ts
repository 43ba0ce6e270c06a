// createInstance in both tiers, without the kernel: one interface whatever the tier. An echo, the
// guest's own error typed, a trap and memory exhaustion classified, a looping call stopped with
// ETIMEOUT (after which the worker instance is dead and the inline one serves on), and a closed
// instance refusing calls. Host functions are stand-ins: these exports do not reach them.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CallError, HOST_FUNCTIONS, encodeCbor } from '@mcp0/abi';
import { instrumentDeadline } from '@mcp0/preempt';
import { InlineInstance, WorkerInstance, capMemory, createInstance, type Instance, type Tier } from '../src/index.js';
import { unsigned } from '../../test/fixtures.js';

const MEMORY_PAGES = 64;
let hostile: Uint8Array;
const open: Instance[] = [];

beforeAll(async () => {
  hostile = capMemory(await unsigned('hostile'), MEMORY_PAGES);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((i) => i.close()));
});

/** An initialised instance of test.hostile; the inline tier gets the deadline checks, as the kernel gives it. */
async function create(tier: Tier, timeoutMs = 1000): Promise<Instance> {
  const preempt = tier === 'inline';
  const compiled = new WebAssembly.Module((preempt ? instrumentDeadline(hostile) : hostile) as Uint8Array<ArrayBuffer>);
  const standIns = Object.fromEntries(Object.keys(HOST_FUNCTIONS).map((name) => [name, () => 0n]));
  const instance = await createInstance({
    name: 'test.hostile',
    compiled,
    tier,
    preempt,
    memoryPages: MEMORY_PAGES,
    timeoutMs,
    hostBytesPerCall: 1 << 20,
    functions: { 'mcp0:abi/v1': standIns },
    config: null,
    onLog: () => undefined,
  });
  open.push(instance);
  await instance.init();
  return instance;
}

async function failure(p: Promise<unknown>): Promise<CallError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CallError);
  return e as CallError;
}

describe.each<Tier>(['inline', 'worker'])('createInstance, %s tier', (tier) => {
  it('picks the implementation of the tier, and calls through it', async () => {
    const instance = await create(tier);
    expect(instance).toBeInstanceOf(tier === 'worker' ? WorkerInstance : InlineInstance);
    expect(await instance.call('ok', new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(await instance.call('ok', new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(instance.alive).toBe(true);
    expect(instance.died).toBeUndefined();
    expect(instance.memoryPages).toBeGreaterThan(0);
  });

  it('types failures the same way in both tiers', async () => {
    const instance = await create(tier);
    const guest = await failure(instance.call('shout', encodeCbor(5)));
    expect(guest).toMatchObject({ code: 'EINPUT', details: { byGuest: true } });
    expect((await failure(instance.call('trap', new Uint8Array(0)))).code).toBe('ETRAP');
    expect((await failure(instance.call('nope', new Uint8Array(0)))).code).toBe('ETRAP');
  });

  it('reports exhausting the memory cap as EMEMORY', async () => {
    const instance = await create(tier);
    expect(await failure(instance.call('bomb', new Uint8Array(0)))).toMatchObject({ code: 'EMEMORY', details: { memoryPages: MEMORY_PAGES } });
  });

  it('stops a looping call with ETIMEOUT', async () => {
    const instance = await create(tier, 300);
    expect(await failure(instance.call('loop', new Uint8Array(0)))).toMatchObject({ code: 'ETIMEOUT', details: { timeoutMs: 300 } });
    if (tier === 'worker') {
      // The thread was terminated, and the instance with it.
      expect(instance.alive).toBe(false);
      expect((await failure(instance.call('ok', new Uint8Array(1)))).code).toBe('ESTATE');
    } else {
      // The guest unwound on this thread: the same instance serves the next call.
      expect(instance.alive).toBe(true);
      expect(await instance.call('ok', new Uint8Array([7]))).toEqual(new Uint8Array([7]));
    }
  });

  it('refuses calls once closed', async () => {
    const instance = await create(tier);
    await instance.close();
    expect(instance.alive).toBe(false);
    expect((await failure(instance.call('ok', new Uint8Array(1)))).code).toBe('ESTATE');
  });
});
