// The cost of the inline tier's preemption: hot loops and AssemblyScript workloads, plain and
// instrumented with deadline checks (@mcp0/preempt, preempt/src), every variant side by side in one
// process (best of several interleaved rounds); then how late after a wall-clock deadline an endless
// loop is stopped. Run with `node --no-warnings bench/preempt.js` after `npm run build`.
import asc from 'assemblyscript/asc';
import binaryen from 'binaryen';
import { DEFAULT_SLICE, instrumentDeadline } from '@mcp0/preempt';

/** Hand-written hot spots: a 1-cycle loop, a loop calling a leaf, a recursion without loops. */
const WAT = `(module
  (func $leaf (param $a i32) (result i32) (i32.xor (i32.mul (local.get $a) (i32.const 31)) (i32.const 7)))
  (func (export "sum") (param $n i32) (result i32) (local $s i64)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $s (i64.add (local.get $s) (i64.extend_i32_u (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
    (i32.wrap_i64 (local.get $s)))
  (func (export "leafCalls") (param $n i32) (result i32) (local $x i32)
    (loop $next
      (local.set $x (call $leaf (i32.add (local.get $x) (local.get $n))))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $x))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2)) (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2))))))))`;

/** Endless loops for the lateness figures: a one-cycle loop, and table.grow charged by entries. */
const ENDLESS = `(module (table $t 0 funcref)
  (func (export "spin") (local $x i32) (loop $l (local.set $x (i32.add (local.get $x) (i32.const 1))) (br $l)))
  (func (export "grow") (param $n i32) (loop $l (drop (table.grow $t (ref.null func) (local.get $n))) (br $l))))`;

/** AssemblyScript workloads, compiled -O3 with the incremental runtime like the plugins. */
const AS = `
export function fnv(n: i32): u32 {
  const buf = new Uint8Array(n);
  for (let i = 0; i < n; i++) buf[i] = <u8>(i * 7);
  let h: u32 = 2166136261;
  for (let r = 0; r < 50; r++) for (let i = 0; i < n; i++) { h ^= buf[i]; h *= 16777619; }
  return h;
}
export function sort(n: i32): i32 {
  const a = new Array<i32>(n);
  let x: u32 = 12345;
  for (let i = 0; i < n; i++) { x = x * 1103515245 + 12345; a[i] = <i32>(x >> 8); }
  a.sort();
  return a[n >> 1];
}
export function strings(n: i32): i32 {
  let total = 0;
  for (let i = 0; i < n; i++) total += (i.toString() + ":" + (i * 3).toString()).length;
  return total;
}
export function mandel(n: i32): i32 {
  let count = 0;
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    const cr = <f64>x / <f64>n * 3.0 - 2.0, ci = <f64>y / <f64>n * 2.0 - 1.0;
    let zr = 0.0, zi = 0.0, k = 0;
    while (k < 200 && zr * zr + zi * zi < 4.0) { const t = zr * zr - zi * zi + cr; zi = 2.0 * zr * zi + ci; zr = t; k++; }
    count += k;
  }
  return count;
}`;

async function compileAs(source) {
  let binary;
  const result = await asc.main(['bench.ts', '-O3', '--runtime', 'incremental', '--outFile', 'bench.wasm'], {
    readFile: (file) => (file === 'bench.ts' ? source : null),
    writeFile: (file, contents) => {
      if (file === 'bench.wasm') binary = contents;
    },
    listFiles: () => [],
    stdout: asc.createMemoryStream(),
    stderr: asc.createMemoryStream(),
  });
  if (result.error || !binary) throw new Error(`asc failed: ${String(result.error)}`);
  return binary;
}

const VARIANTS = [
  ['plain', null],
  [`default (slice ${DEFAULT_SLICE})`, {}],
  ['slice 100000', { slice: 100_000 }],
  ['slice 10000000', { slice: 10_000_000 }],
  ['loops only (entry: false)', { entry: false }],
  ['no local cache (cache: false)', { cache: false }],
];

/** Run every workload under every variant, interleaved; best time per cell and host-call count. */
async function measure(bytes, workloads, rounds) {
  const runs = await Promise.all(
    VARIANTS.map(async ([name, opts]) => {
      const host = { calls: 0 };
      const slice = opts?.slice ?? DEFAULT_SLICE;
      const wasm = opts ? instrumentDeadline(bytes, opts) : bytes;
      const { instance } = await WebAssembly.instantiate(wasm, {
        env: {
          abort: () => {
            throw new Error('abort');
          },
        },
        'mcp0:kernel': { deadline: () => (host.calls++, performance.now() > 1e15 ? 0 : slice) },
      });
      return { name, host, exports: instance.exports, best: {}, hostCalls: {} };
    }),
  );
  const expected = {};
  for (let round = 0; round < rounds; round++) {
    for (const run of runs) {
      for (const [fn, args] of Object.entries(workloads)) {
        const before = run.host.calls;
        const t = performance.now();
        const result = run.exports[fn](...args);
        const ms = performance.now() - t;
        if (fn in expected && result !== expected[fn]) throw new Error(`${run.name} ${fn}: ${result}, expected ${expected[fn]}`);
        else expected[fn] = result;
        run.best[fn] = Math.min(run.best[fn] ?? Infinity, ms);
        run.hostCalls[fn] = run.host.calls - before;
      }
    }
  }
  const plain = runs[0].best;
  return runs.map((run) =>
    Object.fromEntries([
      ['variant', run.name],
      ...Object.keys(workloads).flatMap((fn) => [
        [`${fn} ms`, run.best[fn].toFixed(1)],
        [`${fn} +%`, (((run.best[fn] - plain[fn]) / plain[fn]) * 100).toFixed(0)],
        [`${fn} µs/slice`, run.hostCalls[fn] ? ((run.best[fn] * 1000) / run.hostCalls[fn]).toFixed(0) : '-'],
      ]),
    ]),
  );
}

/**
 * How late after a wall-clock deadline each instrumented variant stops an endless call: when the
 * guest's check noticed it (a host call after the deadline) and when the call had unwound. Fresh
 * instance per round, so a growing table starts empty. Median and worst of `rounds`, in ms.
 */
async function lateness(bytes, calls, rounds, aheadMs = 20) {
  const rows = [];
  for (const [name, opts] of VARIANTS.slice(1)) {
    const wasm = instrumentDeadline(bytes, opts);
    for (const [fn, args] of Object.entries(calls)) {
      const noticed = [];
      const unwound = [];
      const checks = [];
      for (let round = 0; round < rounds; round++) {
        const host = { deadline: 0, noticed: 0, calls: 0 };
        const { instance } = await WebAssembly.instantiate(wasm, {
          env: {
            abort: () => {
              throw new Error('abort');
            },
          },
          'mcp0:kernel': {
            deadline: () => {
              host.calls++;
              const now = performance.now();
              if (now <= host.deadline) return opts.slice ?? DEFAULT_SLICE;
              host.noticed = now - host.deadline;
              throw new Error('deadline');
            },
          },
        });
        host.deadline = performance.now() + aheadMs;
        try {
          instance.exports[fn](...args);
          throw new Error(`${name} ${fn}: returned instead of looping`);
        } catch (e) {
          if (e.message !== 'deadline') throw e;
        }
        unwound.push(performance.now() - host.deadline);
        noticed.push(host.noticed);
        checks.push(host.calls);
      }
      const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
      rows.push({
        variant: name,
        loop: `${fn}(${args.join(', ')})`,
        'noticed ms (median)': median(noticed).toFixed(3),
        'noticed ms (worst)': Math.max(...noticed).toFixed(3),
        'unwound ms (worst)': Math.max(...unwound).toFixed(3),
        'checks in 20 ms': median(checks),
      });
    }
  }
  return rows;
}

const log = (title, rows) => {
  console.log(`\n${title}`);
  console.table(rows);
};

const m = binaryen.parseText(WAT);
const wat = m.emitBinary();
m.dispose();
const e = binaryen.parseText(ENDLESS);
e.setFeatures(binaryen.Features.MutableGlobals | binaryen.Features.BulkMemory | binaryen.Features.ReferenceTypes);
const endless = e.emitBinary();
e.dispose();
const as = await compileAs(AS);
log('hand-written hot spots', await measure(wat, { sum: [100_000_000], leafCalls: [50_000_000], fib: [32] }, 6));
log('AssemblyScript workloads (-O3, incremental runtime)', await measure(as, { fnv: [1 << 20], sort: [1 << 20], strings: [1 << 19], mandel: [600] }, 6));
log('deadline lateness: endless loops stopped 20 ms ahead (10 rounds)', [
  ...(await lateness(endless, { spin: [], grow: [1000] }, 10)),
  ...(await lateness(as, { mandel: [1 << 20] }, 10)),
]);
