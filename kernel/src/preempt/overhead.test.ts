// Overhead of deadline instrumentation, measured side by side in one process. Skipped unless
// MCP0_BENCH=1: `MCP0_BENCH=1 npx vitest run kernel/src/preempt/overhead.test.ts`.
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SLICE, instrumentDeadline, type InstrumentOptions } from './instrument.js';

const WAT = `(module
  (func $sum (export "sum") (param $n i32) (result i64) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $s))
  (func $leaf (param $a i32) (result i32) (i32.xor (i32.mul (local.get $a) (i32.const 31)) (i32.const 7)))
  (func $calls (export "calls") (param $n i32) (result i32) (local $x i32)
    (loop $next
      (local.set $x (call $leaf (i32.add (local.get $x) (local.get $n))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $x))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`;

type Exports = { sum(n: number): bigint; calls(n: number): number; fib(n: number): number };

async function load(bytes: Uint8Array, counter: { calls: number }, slice: number): Promise<Exports> {
  const { instance } = await WebAssembly.instantiate(bytes, { 'mcp0:kernel': { deadline: () => (counter.calls++, performance.now() > 1e15 ? 0 : slice) } });
  return instance.exports as unknown as Exports;
}

function time(f: () => unknown): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

describe.skipIf(!process.env.MCP0_BENCH)('instrumentation overhead', () => {
  it('tight loop, leaf calls, recursion', async () => {
    const m = binaryen.parseText(WAT);
    const plain = m.emitBinary();
    m.dispose();
    const slices = [DEFAULT_SLICE, 100_000, 10_000_000];
    const variants: [string, InstrumentOptions][] = [
      ['plain', {}],
      ...slices.map((slice): [string, InstrumentOptions] => [`slice ${slice} entry=calls`, { slice }]),
      [`slice ${DEFAULT_SLICE} entry=all`, { entry: 'all' }],
      [`slice ${DEFAULT_SLICE} entry=none`, { entry: 'none' }],
      [`slice ${DEFAULT_SLICE} no cache`, { cache: false }],
    ];
    const runs = await Promise.all(
      variants.map(async ([name, opts]) => {
        const counter = { calls: 0 };
        const bytes = name === 'plain' ? plain : instrumentDeadline(plain, opts);
        return { name, counter, exports: await load(bytes, counter, opts.slice ?? DEFAULT_SLICE), best: { sum: Infinity, calls: Infinity, fib: Infinity }, hostCalls: { sum: 0, calls: 0, fib: 0 } };
      }),
    );
    const N = 100_000_000;
    const expected = BigInt(N) * BigInt(N + 1) / 2n;
    for (let round = 0; round < 5; round++) {
      for (const r of runs) {
        for (const [k, f] of [['sum', () => expect(r.exports.sum(N)).toBe(expected)], ['calls', () => r.exports.calls(N / 2)], ['fib', () => r.exports.fib(32)]] as const) {
          const before = r.counter.calls;
          r.best[k] = Math.min(r.best[k], time(f));
          r.hostCalls[k] = r.counter.calls - before;
        }
      }
    }
    const base = runs[0]!.best;
    const rows = runs.map((r) => ({
      variant: r.name,
      'sum 1e8 ms': r.best.sum.toFixed(1),
      'sum +%': (((r.best.sum - base.sum) / base.sum) * 100).toFixed(1),
      'sum host calls': r.hostCalls.sum,
      'µs/host call interval': r.hostCalls.sum ? ((r.best.sum * 1000) / r.hostCalls.sum).toFixed(0) : '-',
      'calls 5e7 ms': r.best.calls.toFixed(1),
      'calls +%': (((r.best.calls - base.calls) / base.calls) * 100).toFixed(1),
      'fib(32) ms': r.best.fib.toFixed(1),
      'fib +%': (((r.best.fib - base.fib) / base.fib) * 100).toFixed(1),
      'fib host calls': r.hostCalls.fib,
    }));
    console.table(rows);
  });
});
