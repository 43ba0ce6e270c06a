// Deadline instrumentation: preempts infinite loops and recursion, keeps every other behaviour
// (loops, branches, calls, tables, ref.func, globals, start, bulk memory, SIMD, tail calls), and
// refuses malformed or unsupported input with a typed error.
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import {
  DEADLINE_IMPORT,
  DEFAULT_SLICE,
  GROW_FAILED_EXPORT,
  InstrumentError,
  SLICE_EXPORT,
  instrumentDeadline,
  instrumentGrowWatch,
  type InstrumentOptions,
} from './instrument.js';

/** The features AssemblyScript -O3 can emit, plus tail calls; no GC, no exception handling. */
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.TailCall |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue;

/** Assemble WAT with binaryen (names kept, so the name section is exercised too). */
function wat(text: string): Uint8Array<ArrayBuffer> {
  const m = binaryen.parseText(text);
  try {
    m.setFeatures(FEATURES);
    if (!m.validate()) throw new Error('binaryen: invalid test module');
    binaryen.setDebugInfo(true);
    return m.emitBinary() as Uint8Array<ArrayBuffer>;
  } finally {
    binaryen.setDebugInfo(false);
    m.dispose();
  }
}

/** A deadline import that counts its calls and throws on call number `throwOn`. */
function deadlineHost(slice: number, throwOn = Infinity) {
  const host = {
    calls: 0,
    deadline: (): number => {
      if (++host.calls >= throwOn) throw new Error(`deadline (call ${host.calls})`);
      return slice;
    },
  };
  return host;
}

type Fn = (...args: number[]) => unknown;

async function instantiate(
  bytes: Uint8Array<ArrayBuffer>,
  imports: WebAssembly.Imports = {},
): Promise<Record<string, Fn> & { [SLICE_EXPORT]?: WebAssembly.Global }> {
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  return instance.exports as never;
}

describe('instrumentDeadline: preemption', () => {
  it('interrupts an infinite loop when the deadline import throws', async () => {
    const out = instrumentDeadline(wat('(module (func (export "spin") (loop $l (br $l))))'), { slice: 1000 });
    expect(WebAssembly.validate(out)).toBe(true);
    const host = deadlineHost(1000, 3);
    const { spin } = await instantiate(out, { [DEADLINE_IMPORT.module]: { deadline: host.deadline } });
    expect(() => spin!()).toThrow('deadline (call 3)');
    expect(host.calls).toBe(3);
  });

  // How soon the deadline is noticed is a speed figure, which a shared machine cannot assert:
  // bench/preempt.js measures it. Here only the behaviour, counted rather than timed.
  const SPIN = `(module (global $x (export "x") (mut i32) (i32.const 0))
    (func (export "spin") (loop $l (global.set $x (i32.add (global.get $x) (i32.const 1))) (br $l))))`;

  it('stops an endless loop at a wall-clock deadline', async () => {
    const out = instrumentDeadline(wat(SPIN));
    let deadline = 0;
    let checks = 0;
    const { spin } = await instantiate(out, {
      'mcp0:kernel': {
        deadline: () => {
          checks++;
          if (performance.now() > deadline) throw new Error('timeout');
          return DEFAULT_SLICE;
        },
      },
    });
    for (let i = 0; i < 3; i++) {
      checks = 0;
      deadline = performance.now() + 20;
      expect(() => spin!()).toThrow('timeout');
      expect(checks).toBeGreaterThanOrEqual(1);
    }
  });

  it('checks in after the same number of iterations every slice', async () => {
    const out = instrumentDeadline(wat(SPIN), { slice: 1000 });
    const seen: number[] = [];
    let x: WebAssembly.Global | undefined;
    const host = deadlineHost(1000, 8);
    const e = await instantiate(out, {
      'mcp0:kernel': {
        deadline: () => {
          seen.push(x!.value as number);
          return host.deadline();
        },
      },
    });
    x = e.x as unknown as WebAssembly.Global;
    expect(() => e.spin!()).toThrow('deadline (call 8)');
    const steps = seen.slice(1).map((v, i) => v - seen[i]!);
    expect(steps).toHaveLength(7);
    expect(new Set(steps).size).toBe(1);
    expect(steps[0]).toBeGreaterThan(1);
  });

  it('interrupts a call loop and an exponential recursion without loops', async () => {
    const out = instrumentDeadline(
      wat(`(module
        (func $leaf (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))
        (func (export "callLoop") (local i32) (loop $l (local.set 0 (call $leaf (local.get 0))) (br $l)))
        (func $fib (export "fib") (param $n i32) (result i32)
          (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
            (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`),
      { slice: 10_000 },
    );
    for (const name of ['callLoop', 'fib']) {
      const host = deadlineHost(10_000, 5);
      const e = await instantiate(out, { 'mcp0:kernel': { deadline: host.deadline } });
      expect(() => e[name]!(60)).toThrow('deadline (call 5)');
    }
  });

  it('charges bulk memory operations by size', async () => {
    const out = instrumentDeadline(
      wat(`(module (memory 2)
        (func (export "fill") (param $n i32) (param $times i32)
          (loop $l
            (memory.fill (i32.const 0) (i32.const 1) (local.get $n))
            (br_if $l (local.tee $times (i32.sub (local.get $times) (i32.const 1)))))))`),
      { slice: 100_000 },
    );
    const host = deadlineHost(100_000);
    const { fill } = await instantiate(out, { 'mcp0:kernel': { deadline: host.deadline } });
    fill!(65536, 1000); // 1000 fills of 64 KiB: 1000 * 4096 units
    expect(host.calls).toBeGreaterThanOrEqual(40);
    expect(host.calls).toBeLessThanOrEqual(42);
  });
});

describe('instrumentDeadline: table operations', () => {
  const TABLES = `(module
    (table $t 0 funcref)
    (table $big 1000 funcref)
    (elem $seg func $f $f $f $f)
    (func $f)
    (func (export "grow") (param $n i32) (result i32) (table.grow $t (ref.null func) (local.get $n)))
    (func (export "growLoop") (param $n i32) (param $k i32)
      (loop $l
        (drop (table.grow $t (ref.null func) (local.get $n)))
        (br_if $l (local.tee $k (i32.sub (local.get $k) (i32.const 1))))))
    (func (export "growForever") (param $n i32) (loop $l (drop (table.grow $t (ref.null func) (local.get $n))) (br $l)))
    (func (export "size") (result i32) (table.size $t))
    (func (export "fill") (param $n i32) (table.fill $big (i32.const 0) (ref.null func) (local.get $n)))
    (func (export "copy") (param $n i32) (table.copy $big $big (i32.const 0) (i32.const 0) (local.get $n)))
    (func (export "init") (param $n i32) (table.init $big $seg (i32.const 0) (i32.const 0) (local.get $n))))`;

  it('charges table.grow, table.fill, table.copy and table.init one unit per entry', async () => {
    const host = deadlineHost(DEFAULT_SLICE);
    const e = await instantiate(instrumentDeadline(wat(TABLES)), { 'mcp0:kernel': { deadline: host.deadline } });
    // Exported leaves pay no entry charge, so what a call takes from the slice is its size operand.
    const charged = (name: string, n: number) => {
      e[SLICE_EXPORT]!.value = 0x7fffffff;
      e[name]!(n);
      return 0x7fffffff - e[SLICE_EXPORT]!.value;
    };
    expect(charged('grow', 0)).toBe(0);
    expect(charged('grow', 1)).toBe(1);
    expect(charged('grow', 250_000)).toBe(250_000);
    expect(e.size!()).toBe(250_001);
    expect(charged('fill', 1000)).toBe(1000);
    expect(charged('copy', 1000)).toBe(1000);
    expect(charged('init', 4)).toBe(4);
    expect(host.calls).toBe(0);
  });

  it('calls the deadline once per slice of grown entries', async () => {
    const out = instrumentDeadline(wat(TABLES), { slice: 100_000 });
    const host = deadlineHost(100_000);
    const e = await instantiate(out, { 'mcp0:kernel': { deadline: host.deadline } });
    e.growLoop!(0, 40); // the loop's own cost, 40 iterations of a few units, fits in one slice
    expect(host.calls).toBe(0);
    e.growLoop!(25_000, 40); // 40 x 25,000 entries: ten slices, four grows each
    expect(host.calls).toBe(10);
    expect(e.size!()).toBe(1_000_000);
  });

  it('preempts an endless loop of table.grow where the charge says', async () => {
    const host = deadlineHost(100_000, 3);
    const e = await instantiate(instrumentDeadline(wat(TABLES), { slice: 100_000 }), { 'mcp0:kernel': { deadline: host.deadline } });
    // The checks come before the 4th, 8th and 12th grow; the third throws, so 11 grows ran.
    expect(() => e.growForever!(25_000)).toThrow('deadline (call 3)');
    expect(host.calls).toBe(3);
    expect(e.size!()).toBe(11 * 25_000);
  });

  it('charges a count of 2^31 or more a whole slice rather than crediting it', async () => {
    const host = deadlineHost(DEFAULT_SLICE, 3);
    const e = await instantiate(instrumentDeadline(wat(TABLES)), { 'mcp0:kernel': { deadline: host.deadline } });
    expect(e.grow!(-1)).toBe(-1); // 0xffffffff entries: the grow fails without trapping
    expect(host.calls).toBe(1);
    expect(e[SLICE_EXPORT]!.value).toBe(DEFAULT_SLICE);
    // Failing grows cost the loop a check each, so it cannot pay back its own cost.
    expect(() => e.growForever!(-1)).toThrow('deadline (call 3)');
    expect(e.size!()).toBe(0);
  });
});

const BEHAVIOUR = `(module
  (type $bin (func (param i32 i32) (result i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (import "env" "base" (global $base i32))
  (memory (export "memory") 1)
  (table $t 4 funcref)
  (table $t2 2 funcref)
  (global $counter (mut i32) (i32.const 0))
  (global $fref funcref (ref.func $mul))
  (elem (table $t) (i32.const 0) func $add $sub $mul $fibPlus)
  (elem $passive func $add $mul)
  (elem declare func $sub)
  (data (i32.const 16) "hello")
  (start $init)
  (func $init (global.set $counter (i32.add (global.get $base) (i32.const 100))))
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $bin) (i32.mul (local.get 0) (local.get 1)))
  (func $fibPlus (type $bin) (i32.add (call $fib (i32.and (local.get 0) (i32.const 15))) (local.get 1)))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "dispatch") (param $op i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect $t (type $bin) (local.get $a) (local.get $b) (i32.and (local.get $op) (i32.const 3))))
  (func (export "sum") (param $n i32) (result i64) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func (export "collatz") (param $n i32) (result i32) (local $steps i32)
    (block $done (loop $next
      (br_if $done (i32.le_u (local.get $n) (i32.const 1)))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (if (i32.and (local.get $n) (i32.const 1))
        (then (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 3)) (i32.const 1))))
        (else (local.set $n (i32.shr_u (local.get $n) (i32.const 1)))))
      (br $next)))
    (local.get $steps))
  (func (export "classify") (param $n i32) (result i32) (local $acc i32) (local $i i32)
    (loop $l
      (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 (i32.rem_u (local.get $i) (i32.const 4))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 1))) (br $b3))
        (local.set $acc (i32.mul (local.get $acc) (i32.const 3))) (br $b3))
        (local.set $acc (i32.xor (local.get $acc) (i32.const 85))))
      (loop $inner
        (local.set $acc (i32.rotl (local.get $acc) (i32.const 1)))
        (br_if $inner (i32.and (local.get $acc) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc))
  (func (export "early") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (if (i32.eq (local.get $i) (local.get $n)) (then (return (i32.mul (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 1 (i32.const -1) (i32.gt_u (local.get $i) (i32.const 1000)))
      (br $l))
    (i32.const 0))
  (func (export "table") (param $a i32) (param $b i32) (result i32)
    (table.set $t2 (i32.const 0) (ref.func $sub))
    (table.set $t2 (i32.const 1) (global.get $fref))
    (i32.add (call_indirect $t2 (type $bin) (local.get $a) (local.get $b) (i32.const 0))
             (call_indirect $t2 (type $bin) (local.get $a) (local.get $b) (i32.const 1))))
  (func (export "passive") (param $a i32) (param $b i32) (result i32)
    (table.init $t2 $passive (i32.const 0) (i32.const 0) (i32.const 2))
    (call_indirect $t2 (type $bin) (local.get $a) (local.get $b) (i32.const 1)))
  (func (export "imported") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.and (call $twice (i32.add (local.get $acc) (local.get $i))) (i32.const 0xffff)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add (local.get $acc) (global.get $counter)))
  (func (export "pair") (param $a i32) (result i32)
    (block (result i32 i32) (local.get $a) (i32.const 7))
    (i32.sub))
  (func (export "bulk") (param $n i32) (result i32)
    (memory.fill (i32.const 100) (i32.const 7) (local.get $n))
    (memory.copy (i32.const 1000) (i32.const 98) (local.get $n))
    (i32.add (i32.load8_u (i32.const 1000)) (i32.load8_u (i32.add (i32.const 999) (local.get $n)))))
  (func (export "numeric") (param $x i32) (result i32)
    (i32.add (i32.trunc_sat_f64_s (f64.mul (f64.convert_i32_s (local.get $x)) (f64.const 1e300)))
             (i32.extend8_s (local.get $x))))
  (func (export "simd") (param $a i32) (result i32)
    (i32x4.extract_lane 2 (i32x4.add (i32x4.splat (local.get $a)) (v128.const i32x4 1 2 3 4))))
  (func (export "choose") (param $c i32) (result i32)
    (i32.wrap_i64 (select (result i64) (i64.const 11) (i64.const 22) (local.get $c))))
  (func $tail (param $n i32) (param $acc i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (local.get $acc))
      (else (return_call $tail (i32.sub (local.get $n) (i32.const 1)) (i32.add (local.get $acc) (local.get $n))))))
  (func (export "tail") (param $n i32) (result i32) (return_call $tail (local.get $n) (i32.const 0)))
  (func (export "tailIndirect") (param $a i32) (result i32)
    (return_call_indirect $t (type $bin) (local.get $a) (i32.const 5) (i32.const 2)))
  (func (export "counter") (result i32) (global.get $counter)))`;

/** Exports and the argument lists each is called with. */
const CALLS: Record<string, number[][]> = {
  fib: [[0], [1], [10], [20]],
  dispatch: [
    [0, 7, 5],
    [1, 7, 5],
    [2, 7, 5],
    [3, 7, 5],
  ],
  sum: [[0], [1], [100_000]],
  collatz: [[1], [27], [97], [871]],
  classify: [[0], [1], [7], [1000]],
  early: [[0], [5], [999], [5000]],
  table: [[9, 4]],
  passive: [[6, 7]],
  imported: [[0], [1], [500]],
  pair: [[3], [100]],
  bulk: [[1], [300]],
  numeric: [[0], [-1], [255], [3]],
  simd: [[0], [41]],
  choose: [[0], [1]],
  tail: [[0], [10], [100_000]],
  tailIndirect: [[4]],
  counter: [[]],
};

const env = { env: { twice: (x: number) => x * 2, base: new WebAssembly.Global({ value: 'i32', mutable: false }, 23) } };

describe.each<[string, InstrumentOptions]>([
  ['defaults', {}],
  ['slice 1 (deadline at every check)', { slice: 1 }],
  ['slice 7', { slice: 7 }],
  ['no cache', { slice: 5, cache: false }],
  ['no entry checks', { slice: 5, entry: false }],
])('instrumentDeadline: same behaviour (%s)', (_, opts) => {
  it('computes what the original computes', async () => {
    const original = wat(BEHAVIOUR);
    const out = instrumentDeadline(original, opts);
    expect(WebAssembly.validate(out)).toBe(true);
    const plain = await instantiate(original, env);
    const host = deadlineHost(opts.slice ?? DEFAULT_SLICE);
    const instrumented = await instantiate(out, { ...env, 'mcp0:kernel': { deadline: host.deadline } });
    for (const [name, argLists] of Object.entries(CALLS)) {
      for (const args of argLists) expect([name, ...args, instrumented[name]!(...args)]).toEqual([name, ...args, plain[name]!(...args)]);
    }
    expect(host.calls).toBeGreaterThan((opts.slice ?? DEFAULT_SLICE) < 10 ? 1000 : -1);
    // Imports, exports and memory look the same, plus the deadline import and slice export.
    const [a, b] = [new WebAssembly.Module(original), new WebAssembly.Module(out)];
    expect(WebAssembly.Module.imports(b)).toEqual([...WebAssembly.Module.imports(a), { module: 'mcp0:kernel', name: 'deadline', kind: 'function' }]);
    expect(WebAssembly.Module.exports(b)).toEqual([
      ...WebAssembly.Module.exports(a),
      { name: SLICE_EXPORT, kind: 'global' },
      { name: GROW_FAILED_EXPORT, kind: 'global' },
    ]);
  });
});

describe('instrumentDeadline: the slice', () => {
  const SUM = `(module (func (export "sum") (param $n i32) (result i32) (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (local.get $n)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s)))`;

  it('is an exported mutable i32 global the host can reset', async () => {
    const out = instrumentDeadline(wat(SUM), { slice: 12345 });
    const e = await instantiate(out, { 'mcp0:kernel': { deadline: () => 1 } });
    const slice = e[SLICE_EXPORT]!;
    expect(slice).toBeInstanceOf(WebAssembly.Global);
    expect(slice.value).toBe(12345);
    slice.value = 999;
    expect(slice.value).toBe(999);
  });

  it('calls the deadline import about iterations x cost / slice times', async () => {
    const out = instrumentDeadline(wat(SUM));
    const host = deadlineHost(0);
    const e = await instantiate(out, { 'mcp0:kernel': { deadline: () => host.deadline() } });
    // The cost of one iteration: what a run charges, with a slice too large to run out.
    const charged = (n: number) => {
      e[SLICE_EXPORT]!.value = 0x7fffffff;
      e.sum!(n);
      return 0x7fffffff - e[SLICE_EXPORT]!.value;
    };
    const perIteration = charged(2001) - charged(2000);
    expect(charged(3000) - charged(2000)).toBe(1000 * perIteration);
    expect(perIteration).toBeGreaterThanOrEqual(5); // the loop body's instruction count
    expect(perIteration).toBeLessThan(20);
    for (const slice of [100, 1000, 100_000]) {
      const counted = deadlineHost(slice);
      const f = await instantiate(instrumentDeadline(wat(SUM), { slice }), { 'mcp0:kernel': { deadline: counted.deadline } });
      f.sum!(1_000_000);
      const expected = (1_000_000 * perIteration) / slice;
      expect(counted.calls).toBeGreaterThanOrEqual(Math.floor(expected * 0.95));
      expect(counted.calls).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    }
  });
});

describe('instrumentDeadline: module shapes', () => {
  it('adds the type, import, global and export sections a module lacks', async () => {
    for (const text of ['(module)', '(module (func (export "f") (result i32) (i32.const 1)))', '(module (memory 1) (func $s) (start $s))']) {
      const out = instrumentDeadline(wat(text));
      expect(WebAssembly.validate(out)).toBe(true);
      const e = await instantiate(out, { 'mcp0:kernel': { deadline: () => 1 } });
      expect(e[SLICE_EXPORT]!.value).toBe(DEFAULT_SLICE);
    }
  });

  it('reuses an existing () -> i32 type', () => {
    const original = wat('(module (func (export "f") (result i32) (i32.const 1)))');
    const out = instrumentDeadline(original);
    expect(WebAssembly.validate(out)).toBe(true);
    expect(out[9]).toBe(original[9]); // type section size unchanged: same single type
  });

  it('keeps the name section in step with the shifted function indices', async () => {
    const out = instrumentDeadline(
      wat(`(module (import "env" "f" (func $imported))
        (func $first (export "first") (result i32) (i32.const 1))
        (func $boom (export "boom") (unreachable)))`),
    );
    const e = await instantiate(out, { env: { f: () => undefined }, 'mcp0:kernel': { deadline: () => 1 } });
    const err = (() => {
      try {
        e.boom!();
      } catch (x) {
        return x as Error;
      }
    })();
    expect(err?.stack?.split('\n')[1]).toMatch(/boom/);
  });

  it('refuses modules that already use the kernel names', () => {
    const importing = wat('(module (import "mcp0:kernel" "deadline" (func (result i32))))');
    expect(() => instrumentDeadline(importing)).toThrow(expect.objectContaining({ code: 'EIMPORT', details: expect.objectContaining({ reason: 'conflict' }) }));
    const once = instrumentDeadline(wat('(module)'));
    expect(() => instrumentDeadline(once)).toThrow(InstrumentError);
    const exporting = wat(`(module (global $g (mut i32) (i32.const 0)) (export "${SLICE_EXPORT}" (global $g)))`);
    expect(() => instrumentDeadline(exporting)).toThrow(expect.objectContaining({ code: 'EIMPORT' }));
  });

  it('refuses a bad slice', () => {
    for (const slice of [0, -1, 1.5, 2 ** 31])
      expect(() => instrumentDeadline(wat('(module)'), { slice })).toThrow(expect.objectContaining({ code: 'EUSAGE' }));
  });
});

describe('the grow watch: a failed memory.grow is recorded for the host', () => {
  // Grows by $n pages and returns memory.grow's result; `big` then traps, as an allocator does.
  const GROWER = wat(`(module
    (import "env" "f" (func $f (param i32) (result i32)))
    (memory (export "memory") 1 4)
    (global $g (mut i32) (i32.const 7))
    (func (export "grow") (param $n i32) (result i32) (memory.grow (local.get $n)))
    (func (export "big") (if (i32.lt_s (memory.grow (i32.const 100)) (i32.const 0)) (then unreachable)))
    (func (export "callsF") (param i32) (result i32) (call $f (local.get 0)))
    (func (export "g") (result i32) (global.get $g)))`);
  const env = { env: { f: (x: number) => x * 2 } };

  it.each([
    ['instrumentGrowWatch', (b: Uint8Array) => instrumentGrowWatch(b), {}],
    ['instrumentDeadline', (b: Uint8Array) => instrumentDeadline(b), { [DEADLINE_IMPORT.module]: { deadline: () => DEFAULT_SLICE } }],
  ] as const)('%s: sets __mcp0_grow_failed when a grow fails, not when it succeeds; the rest runs as before', async (_name, transform, extra) => {
    const out = transform(GROWER);
    expect(WebAssembly.validate(out)).toBe(true);
    const x = (await instantiate(out, { ...env, ...extra })) as Record<string, Fn> & Record<string, WebAssembly.Global>;
    const flag = x[GROW_FAILED_EXPORT]!;
    expect(flag.value).toBe(0);
    expect(x.grow!(1)).toBe(1);
    expect(flag.value).toBe(0);
    expect(x.grow!(10)).toBe(-1);
    expect(flag.value).toBe(1);
    flag.value = 0;
    expect(() => x.big!()).toThrow(/unreachable/);
    expect(flag.value).toBe(1);
    // Calls to imports and globals keep their indices and values.
    expect(x.callsF!(21)).toBe(42);
    expect(x.g!()).toBe(7);
  });

  it('instrumentGrowWatch adds no import and no slice: the module links with its own imports only', () => {
    const mod = new WebAssembly.Module(instrumentGrowWatch(GROWER));
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`)).toEqual(['env.f']);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(['memory', 'grow', 'big', 'callsF', 'g', GROW_FAILED_EXPORT]);
  });

  it('refuses a module that already exports the flag name', () => {
    const taken = wat(`(module (global (export "${GROW_FAILED_EXPORT}") i32 (i32.const 0)))`);
    expect(() => instrumentGrowWatch(taken)).toThrow(InstrumentError);
    expect(() => instrumentGrowWatch(taken)).toThrow(/already exports __mcp0_grow_failed/);
  });
});
