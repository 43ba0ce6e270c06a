// The sandbox (@mcp0/sandbox) through the kernel, against hand-written hostile modules: tables
// are capped, the host-memory budget cannot be switched off or bypassed, host calls are under the
// call's deadline, calls keep nothing of the guest's between them, a call may make any number of
// host calls, buffers are not shared with the guest, and a looping start function gets the call
// timeout. Every case in both tiers where both apply; no case times anything.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CallError, LoadError } from '@mcp0/abi';
import { Kernel, type Tier } from '@mcp0/kernel';
import { INSTANTIATION_SLACK_MS } from '@mcp0/sandbox';
import { trusted } from '../../test/fixtures.js';
import { MARKER, corpusModule, fromWat } from './wat.js';
import { TestKv } from './memory-kv.js';

const TIERS: Tier[] = ['inline', 'worker'];
const MiB = 1 << 20;

/** The Extism imports the modules below use, typed as ABI v1 says. */
const EXTISM = `
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))`;

/**
 * `$request`: a fresh handle holding the `len` bytes at address 0 (a CBOR request from the data
 * segment). `$ok`: whether a response handle holds `{"ok": …}` (its second byte is the text head of "ok").
 */
const HELPERS = `
  (func $request (param $len i32) (result i64) (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done (loop $copy
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (call $store_u8 (i64.add (local.get $h) (i64.extend_i32_u (local.get $i))) (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $copy)))
    (local.get $h))
  (func $ok (param $r i64) (result i32) (i32.eq (call $load_u8 (i64.add (local.get $r) (i64.const 1))) (i32.const 0x62)))`;

/** A module with the helpers, `body`, a data segment `data` at address 0 and mcp0:abi/v1 `imports` (e.g. `log` as `$log`). */
const module = (body: string, data = '', imports: string[] = []) =>
  `(module ${EXTISM} ${imports.map((f) => `(import "mcp0:abi/v1" "${f}" (func $${f} (param i64) (result i64)))`).join(' ')}
    ${body} (memory (export "memory") 1) (data (i32.const 0) "${data}") ${MARKER} ${HELPERS})`;

/** CBOR `{}` and `{"key": "k"}` and `{"msg": "x"}` as WAT string escapes. */
const EMPTY_MAP = '\\a0';
const KV_GET_K = '\\a1\\63key\\61k';
const LOG_X = '\\a1\\63msg\\61x';

let kernel: Kernel | undefined;
afterEach(async () => {
  await kernel?.stop();
  kernel = undefined;
});

async function load(bytes: Uint8Array, tier: Tier, options: Parameters<Kernel['load']>[1] = {}, kv = new TestKv()): Promise<Kernel> {
  kernel = new Kernel({ trust: [trusted], providers: { kv }, restart: { failureThreshold: 100 } });
  await kernel.load(bytes, { isolation: tier, ...options });
  return kernel;
}

async function failure(p: Promise<unknown>): Promise<CallError | LoadError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as CallError;
}

describe('tables are capped', () => {
  const tables = (decl: string) => fromWat(`(module ${decl} (memory (export "memory") 1) ${MARKER})`);

  it.each(TIERS)('refuses at load a module whose tables need more than the cap (%s tier)', async (tier) => {
    // Two 10M-entry funcref tables put over 300 MB on the V8 heap at instantiation.
    const e = await failure(load(tables('(table $a 10000000 funcref) (table $b 10000000 funcref)'), tier));
    expect(e).toBeInstanceOf(LoadError);
    expect(e).toMatchObject({ code: 'EMEMORY', details: { check: 'limits', got: 20_000_000 } });
    await expect(load(tables('(table 10001 funcref)'), tier)).rejects.toMatchObject({ code: 'EMEMORY' });
    await expect(load(tables('(table 10000 funcref)'), tier)).resolves.toBeDefined();
  });

  it.each(TIERS)('makes table.grow fail past the cap (%s tier)', async (tier) => {
    const grow = fromWat(
      `(module (table $t 10 funcref) (memory (export "memory") 1) ${MARKER}
        (func (export "grow") (result i32)
          ;; -1 is what a capped table answers; anything else traps.
          (if (i32.ne (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)) (then unreachable))
          (if (i32.ne (table.grow $t (ref.null func) (i32.const 100)) (i32.const 10)) (then unreachable))
          (i32.const 0)))`,
      { exports: [{ name: 'grow' }] },
    );
    const k = await load(grow, tier);
    await expect(k.call('test.wat', 'grow', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
  });

  it('ends only its own thread when a worker-tier guest exhausts its heap; the module comes back', async () => {
    // Heap a guest can fill bit by bit: Extism variables, kept across calls (tables cannot serve:
    // V8 grows a table in one allocation, which past the heap limit aborts the process whatever
    // the thread's limits, hence their cap at load). Each call sets 16,000 distinct 1 KiB keys.
    const hog = fromWat(
      module(`(global $call (mut i32) (i32.const 0))
        (func (export "hog") (result i32) (local $i i32) (local $k i64)
          (global.set $call (i32.add (global.get $call) (i32.const 1)))
          (loop $more
            (local.set $k (call $alloc (i64.const 1024)))
            ;; a distinct ASCII key: the call and the counter, 7 bits a byte
            (call $store_u8 (local.get $k) (i32.and (global.get $call) (i32.const 0x7f)))
            (call $store_u8 (i64.add (local.get $k) (i64.const 1)) (i32.and (local.get $i) (i32.const 0x7f)))
            (call $store_u8 (i64.add (local.get $k) (i64.const 2)) (i32.shr_u (local.get $i) (i32.const 7)))
            (call $var_set (local.get $k) (local.get $k))
            (call $free (local.get $k))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $more (i32.lt_u (local.get $i) (i32.const 16000))))
          (i32.const 0))`),
      { exports: [{ name: 'hog' }] },
    );
    const k = await load(hog, 'worker', { hostBytesPerCall: 16 * MiB, memoryPages: 16, timeoutMs: 30_000 });
    let e: unknown;
    for (let i = 0; i < 40 && e === undefined; i++)
      e = await k.call('test.wat', 'hog', new Uint8Array(0)).then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(e).toBeInstanceOf(CallError);
    expect(e).toMatchObject({ code: 'EMEMORY', details: { workerDied: true } });
    expect((e as CallError).message).toMatch(/ran out of heap during the call/);
    // The restart policy brings the module back with a fresh thread.
    await vi.waitFor(() => expect(k.module('test.wat').state).toBe('running'), { timeout: 20_000, interval: 20 });
    await expect(k.call('test.wat', 'hog', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
  });
});

describe('the host-memory budget', () => {
  it.each(TIERS)("refuses at load an import whose type is not ABI v1's, naming both types (%s tier)", async (tier) => {
    // A second alloc typed (f64) -> i64, called with NaN, made the budget NaN and every check false.
    const e = await failure(load(corpusModule('alloc-retyped').bytes, tier));
    expect(e).toMatchObject({
      code: 'EIMPORT',
      details: { check: 'imports', import: 'extism:host/env.alloc', expected: '(i64) -> (i64)', got: '(f64) -> (i64)' },
    });
    const wrong = fromWat(`(module (import "mcp0:abi/v1" "log" (func (param i32) (result i64))) (memory (export "memory") 1) ${MARKER})`);
    await expect(load(wrong, tier)).rejects.toMatchObject({
      code: 'EIMPORT',
      details: { import: 'mcp0:abi/v1.log', expected: '(i64) -> (i64)', got: '(i32) -> (i64)' },
    });
  });

  it.each(TIERS)('refuses at load the same import twice, even with the right type (%s tier)', async (tier) => {
    const e = await failure(load(corpusModule('import-twice').bytes, tier));
    expect(e).toMatchObject({ code: 'EIMPORT', details: { import: 'mcp0:abi/v1.log' } });
    expect(e.message).toMatch(/twice/);
  });

  // A guest that catches the host's refusal of a negative size (exception handling; the inline
  // tier refuses it unless preempt is off) once pushed the budget far below zero.
  const CHEAT = fromWat(
    module(`(func (export "cheat") (result i32) (local $i i32)
      (try (do (drop (call $alloc (i64.const -4611686018427387904)))) (catch_all))
      (loop $more
        (drop (call $alloc (i64.const ${MiB})))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $i) (i32.const 20))))
      (i32.const 0))`),
    { exports: [{ name: 'cheat' }] },
  );

  it.each(TIERS)('cannot be driven below zero by a refused negative allocation (%s tier)', async (tier) => {
    const k = await load(CHEAT, tier, { hostBytesPerCall: 16 * MiB, preempt: false });
    await expect(k.call('test.wat', 'cheat', new Uint8Array(0))).rejects.toMatchObject({ code: 'EMEMORY' });
  });

  it.each(TIERS)('counts what a start function allocates (%s tier)', async (tier) => {
    const start = fromWat(
      module(`(func $hoard (local $i i32)
      (loop $more
        (drop (call $alloc (i64.const ${MiB})))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $more (i32.lt_u (local.get $i) (i32.const 40)))))
      (start $hoard)`),
    );
    const e = await failure(load(start, tier, { hostBytesPerCall: 16 * MiB }));
    expect(e).toMatchObject({ code: 'EMEMORY', details: { limit: 16 * MiB } });
    expect(e.message).toContain('(start)');
  });

  it.each(TIERS)('counts the responses host functions store for the guest (%s tier)', async (tier) => {
    // 40 kv_get of a 1 MiB value: the guest frees every response, but the host made 40 MiB for it.
    const reader = fromWat(
      module(
        `(func (export "read") (result i32) (local $i i32) (local $h i64) (local $r i64)
        (loop $more
          (local.set $h (call $request (i32.const 7)))
          (local.set $r (call $kv_get (local.get $h)))
          (if (i32.eqz (call $ok (local.get $r))) (then unreachable))
          (call $free (local.get $h))
          (call $free (local.get $r))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $more (i32.lt_u (local.get $i) (i32.const 40))))
        (i32.const 0))`,
        KV_GET_K,
        ['kv_get'],
      ),
      { exports: [{ name: 'read' }], capabilities: [{ name: 'kv' }] },
    );
    const kv = new TestKv();
    kv.put('test.wat', 'k', new Uint8Array(MiB));
    const k = await load(reader, tier, { hostBytesPerCall: 16 * MiB, grants: [{ name: 'kv' }] }, kv);
    await expect(k.call('test.wat', 'read', new Uint8Array(0))).rejects.toMatchObject({ code: 'EMEMORY', details: { limit: 16 * MiB } });
  });
});

describe('host calls and the deadline', () => {
  const LOOP_ON_LOG = corpusModule('log-loop').bytes;

  it('fails an inline call at its first host call past the deadline, with ETIMEOUT', async () => {
    const k = await load(LOOP_ON_LOG, 'inline', { timeoutMs: 100 });
    let logs = 0;
    k.on('log', () => {
      // The first log holds the call until its deadline has surely passed (the call started
      // before this log); the next host call must then be refused.
      if (logs++ === 0) for (const until = performance.now() + 150; performance.now() < until; );
    });
    const e = await failure(k.call('corpus.log-loop', 'chatter', new Uint8Array(0)));
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { timeoutMs: 100 } });
    expect(e.message).toMatch(/preempted/);
    // The deadline checks in the guest's own code come far apart on a loop that calls the host.
    expect(logs).toBe(1);
    await expect(k.call('corpus.log-loop', 'ok', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
  });

  it('terminates a worker-tier guest that loops on host calls, and serves the next call', async () => {
    const k = await load(LOOP_ON_LOG, 'worker', { timeoutMs: 200 });
    await expect(k.call('corpus.log-loop', 'chatter', new Uint8Array(0))).rejects.toMatchObject({ code: 'ETIMEOUT' });
    await expect(k.call('corpus.log-loop', 'ok', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
  });
});

describe('Extism handles', () => {
  /** 20,000 clock_now calls (40,000 blocks) in one guest call: `tick` frees each request and response, `hoard` keeps them. */
  const CLOCK = corpusModule('handles').bytes;

  it.each(TIERS)('lets one call make 20,000 host calls, and the next call too (%s tier)', async (tier) => {
    const k = await load(CLOCK, tier, { grants: [{ name: 'clock' }], timeoutMs: 30_000 });
    for (let i = 0; i < 2; i++) await expect(k.call('corpus.handles', 'tick', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
  });

  it.each(TIERS)('fails a call that keeps every block alive with ETOOBIG naming its host calls; the next call is served (%s tier)', async (tier) => {
    const k = await load(CLOCK, tier, { grants: [{ name: 'clock' }], timeoutMs: 30_000 });
    const e = await failure(k.call('corpus.handles', 'hoard', new Uint8Array(0)));
    expect(e).toMatchObject({ code: 'ETOOBIG', details: { limit: 32767 } });
    expect(e.details.hostCalls).toBeGreaterThan(16_000);
    expect(e.message).toMatch(/host calls/);
    await expect(k.call('corpus.handles', 'tick', new Uint8Array(0))).resolves.toEqual(new Uint8Array(0));
    expect(k.metrics()['corpus.handles']!.restarts).toBe(0);
  });
});

describe('nothing outlives a call', () => {
  // Each call allocates 7 MiB it never frees, then outputs the handle it got as 8 bytes.
  const LEAK = fromWat(
    module(`(func (export "leak") (result i32) (local $h i64) (local $out i64)
      (local.set $h (call $alloc (i64.const ${7 * MiB})))
      (local.set $out (call $alloc (i64.const 8)))
      (call $store_u64 (local.get $out) (local.get $h))
      (call $output_set (local.get $out) (i64.const 8))
      (i32.const 0))`),
    { exports: [{ name: 'leak' }] },
  );

  it.each(TIERS)('drops the blocks a guest leaves allocated when the call ends (%s tier)', async (tier) => {
    const k = await load(LEAK, tier, { hostBytesPerCall: 16 * MiB });
    // The same handle every time: the table was emptied, so no 7 MiB block of an earlier call is kept.
    const first = await k.call('test.wat', 'leak', new Uint8Array(0));
    for (let i = 0; i < 3; i++) expect(await k.call('test.wat', 'leak', new Uint8Array(0))).toEqual(first);
  });
});

describe('buffers at the boundary', () => {
  // `scribble` writes 0xee into its input block; `keep` outputs 4 bytes and, on the next call,
  // writes 0xee into the block it output before (its handle kept in a global).
  const SCRIBBLER = fromWat(
    module(
      `(global $last (mut i64) (i64.const 0))
      (func (export "scribble") (result i32)
        (call $store_u8 (call $input_offset) (i32.const 0xee))
        (i32.const 0))
      (func (export "keep") (result i32) (local $h i64)
        (if (i64.ne (global.get $last) (i64.const 0)) (then (call $store_u8 (global.get $last) (i32.const 0xee))))
        (local.set $h (call $request (i32.const 4)))
        (global.set $last (local.get $h))
        (call $output_set (local.get $h) (i64.const 4))
        (i32.const 0))`,
      '\\01\\02\\03\\04',
    ),
    { exports: [{ name: 'scribble' }, { name: 'keep' }] },
  );

  it.each(TIERS)("never lets the guest write into the caller's input (%s tier)", async (tier) => {
    const k = await load(SCRIBBLER, tier);
    const input = Uint8Array.of(1, 2, 3);
    await k.call('test.wat', 'scribble', input);
    expect(input).toEqual(Uint8Array.of(1, 2, 3));
  });

  it.each(TIERS)('gives the caller an output no later call can change (%s tier)', async (tier) => {
    const k = await load(SCRIBBLER, tier);
    const first = await k.call('test.wat', 'keep', new Uint8Array(0));
    expect(first).toEqual(Uint8Array.of(1, 2, 3, 4));
    await k.call('test.wat', 'keep', new Uint8Array(0));
    expect(first).toEqual(Uint8Array.of(1, 2, 3, 4));
  });
});

describe('start functions', () => {
  it.each(TIERS)('fails the load of a module whose start function loops with ETIMEOUT on the call timeout (%s tier)', async (tier) => {
    const e = await failure(load(corpusModule('start-spin').bytes, tier, { timeoutMs: 300 }));
    // The worker tier adds a fixed slack for scheduling the thread (INSTANTIATION_SLACK_MS), not
    // the thread start-up's own 10 s bound.
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { timeoutMs: tier === 'worker' ? 300 + INSTANTIATION_SLACK_MS : 300 } });
    // The worker tier bounds the thread's own start-up apart (10 s), and says which bound it was.
    if (tier === 'worker') expect(e.details.phase).toBe('instantiation');
  });
});
