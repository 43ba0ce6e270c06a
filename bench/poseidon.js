/**
 * Poseidon benchmark (`node --no-warnings --expose-gc bench/poseidon.js`, after `npm run build`;
 * builds plugins/trace itself). Hashes per second for 2 and 3 inputs, in one run on the same
 * inputs (a fixed seeded set of BATCH vectors per size), side by side:
 *   (a) mcp0.trace through the kernel (inline tier), BATCH hashes per call via poseidon_batch —
 *       with the default preemption checks, and with preempt: false;
 *   (b) the same module bare: instantiated here with stub imports, poseidon_raw_batch over
 *       32-byte big-endian inputs already in its memory;
 *   (c) circomlibjs buildPoseidon (its WASM core) on inputs already converted with F.e;
 *   (d) poseidon-lite (pure JS, BigInt) on bigint inputs.
 * Target (ARCHITECTURE.md §9): trace ≥ 1.5× circomlibjs, stretching to 2×. Also times one field
 * multiplication (a raw export looping N multiplications). Flags: --quick.
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { buildPoseidon } from 'circomlibjs';
import { poseidon2, poseidon3 } from 'poseidon-lite';
import { encodeCbor, decodeCbor, generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { buildPlugin } from '@mcp0/builder';
import { ROOT } from './lib/fixtures.js';
import { measure } from './lib/measure.js';
import { figuresTable, ratiosTable, writeJson } from './lib/report.js';

const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const BATCH = 128;
const NAME = 'mcp0.trace';
const scale = process.argv.includes('--quick') ? 0.25 : 1;
const TIME_MS = Math.round(3000 * scale);
const log = (msg) => process.stderr.write(`${msg}\n`);

function rand254(seed) {
  let s = BigInt(seed);
  const next = () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return s >> 32n;
  };
  return () => {
    for (;;) {
      let x = 0n;
      for (let i = 0; i < 8; i++) x = (x << 32n) | next();
      x >>= 2n;
      if (x < P) return x;
    }
  };
}
const toBE = (x, buf, off) => {
  for (let k = 0; k < 32; k++) buf[off + 31 - k] = Number((x >> BigInt(8 * k)) & 0xffn);
};
const fromBE = (buf, off) => {
  let r = 0n;
  for (let k = 0; k < 32; k++) r = (r << 8n) | BigInt(buf[off + k]);
  return r;
};

log('building plugins/trace …');
const { wasm } = await buildPlugin(`${ROOT}plugins/trace`);
const key = generateKeyPair();
const kernel = new Kernel({ trust: [key.publicKey] });
const signed = signModule(wasm, key);
await kernel.load(signed, { isolation: 'inline', grants: [{ name: 'kv' }] });
// A second kernel with the same module without the inline tier's deadline checks.
const kernelNp = new Kernel({ trust: [key.publicKey] });
await kernelNp.load(signed, { isolation: 'inline', grants: [{ name: 'kv' }], preempt: false });

// The bare module.
const mod = new WebAssembly.Module(wasm);
const imports = {};
for (const imp of WebAssembly.Module.imports(mod)) {
  (imports[imp.module] ??= {})[imp.name] = () => {
    throw new Error(`bare: unexpected import ${imp.module}.${imp.name}`);
  };
}
const bare = new WebAssembly.Instance(mod, imports).exports;

const circom = await buildPoseidon();
const F = circom.F;

const rows = [];
const ratios = [];
const sets = {};
for (const n of [2, 3]) {
  const rand = rand254(1000 + n);
  const inputs = Array.from({ length: BATCH }, () => Array.from({ length: n }, () => rand()));
  const want = inputs.map((v) => F.toObject(circom(v)));
  // (a) kernel: the batch, CBOR-encoded once.
  const cbor = encodeCbor(inputs.map((v) => v.map(String)));
  // (b) bare: inputs in the module's memory once.
  const inp = bare.raw_alloc(BATCH * n * 32);
  const out = bare.raw_alloc(BATCH * 32);
  {
    const mem = new Uint8Array(bare.memory.buffer);
    inputs.forEach((v, k) => v.forEach((x, i) => toBE(x, mem, inp + (k * n + i) * 32)));
  }
  // (c) circomlibjs: field elements.
  const fe = inputs.map((v) => v.map((x) => F.e(x)));
  const lite = n === 2 ? poseidon2 : poseidon3;

  // Everyone agrees before anyone is timed.
  const viaKernel = decodeCbor(await kernel.call(NAME, 'poseidon_batch', cbor));
  bare.poseidon_raw_batch(inp, n, BATCH, out);
  const mem = new Uint8Array(bare.memory.buffer);
  for (let k = 0; k < BATCH; k++) {
    const w = want[k];
    if (BigInt(viaKernel[k]) !== w || fromBE(mem, out + 32 * k) !== w || F.toObject(circom(fe[k])) !== w || lite(inputs[k]) !== w) {
      throw new Error(`n=${n}: implementations disagree on vector ${k}`);
    }
  }
  sets[n] = { cbor, inp, out, fe, lite, inputs };
}

for (const n of [2, 3]) {
  const { cbor, inp, out, fe, lite, inputs } = sets[n];
  log(`measuring ${n} inputs …`);
  const tasks = [
    { id: `kernel.${n}`, label: `(a) kernel, poseidon_batch ×${BATCH}`, fn: () => kernel.call(NAME, 'poseidon_batch', cbor) },
    { id: `kernelNp.${n}`, label: `(a') kernel preempt:false ×${BATCH}`, fn: () => kernelNp.call(NAME, 'poseidon_batch', cbor) },
    { id: `bare.${n}`, label: `(b) bare WASM raw ×${BATCH}`, fn: () => bare.poseidon_raw_batch(inp, n, BATCH, out), async: false },
    {
      id: `circom.${n}`,
      label: `(c) circomlibjs wasm ×${BATCH}`,
      fn: () => {
        for (let k = 0; k < BATCH; k++) circom(fe[k]);
      },
      async: false,
    },
    {
      id: `lite.${n}`,
      label: `(d) poseidon-lite ×${BATCH}`,
      fn: () => {
        for (let k = 0; k < BATCH; k++) lite(inputs[k]);
      },
      async: false,
    },
  ];
  const stats = await measure(tasks, { timeMs: TIME_MS, rounds: 4, warmupMs: 300, minIterations: 16 });
  for (const t of tasks) {
    const s = stats.get(t.id);
    // Per hash: divide the per-batch figures.
    const per = {
      ...s,
      opsPerSec: s.opsPerSec * BATCH,
      meanUs: s.meanUs / BATCH,
      p50Us: s.p50Us / BATCH,
      p99Us: s.p99Us / BATCH,
      minUs: s.minUs / BATCH,
      maxUs: s.maxUs / BATCH,
      sdUs: s.sdUs / BATCH,
    };
    rows.push({ id: t.id, group: `poseidon ${n}`, label: t.label, stats: per });
  }
  const row = (id) => rows.find((r) => r.id === id);
  // Speed-ups over circomlibjs: circomlibjs time / ours (≥ 1.5 is the target).
  const speedup = (name, id, target) => {
    const c = row(`circom.${n}`).stats,
      o = row(id).stats;
    const r = { name, mean: c.meanUs / o.meanUs, p50: c.p50Us / o.p50Us };
    if (target !== undefined) Object.assign(r, { target, on: 'p50', verdict: r.p50 >= target ? 'PASS' : 'FAIL' });
    return r;
  };
  ratios.push(speedup(`${n} inputs: circomlibjs / kernel (a)`, `kernel.${n}`, 1.5));
  ratios.push(speedup(`${n} inputs: circomlibjs / kernel preempt:false (a')`, `kernelNp.${n}`));
  ratios.push(speedup(`${n} inputs: circomlibjs / bare (b)`, `bare.${n}`, 1.5));
  ratios.push(speedup(`${n} inputs: circomlibjs / poseidon-lite (d)`, `lite.${n}`));
}

// One field multiplication: a raw export looping N of them (x = x·y, a dependent chain).
const MULS = 200_000;
const S = bare.raw_scratch();
{
  const m = new Uint8Array(bare.memory.buffer);
  toBE(123456789123456789n, m, S);
  toBE(987654321987654321n, m, S + 32);
}
const mulTasks = [
  ['mul', 'field mul (CIOS, interleaved)', 0],
  ['mul2', 'field mul (product, then reduce)', 1],
  ['sqr', 'field square', 2],
].map(([id, label, kind]) => ({ id: `fr.${id}`, label, fn: () => bare.mul_loop_kind(S, S + 32, MULS, kind), async: false }));
const mulStats = await measure(mulTasks, { timeMs: Math.round(1500 * scale), rounds: 2, warmupMs: 200, minIterations: 8 });
for (const t of mulTasks) {
  const s = mulStats.get(t.id);
  const k = MULS;
  rows.push({
    id: t.id,
    group: 'BN254 Fr',
    label: `${t.label} (per op)`,
    stats: {
      ...s,
      opsPerSec: s.opsPerSec * k,
      meanUs: s.meanUs / k,
      p50Us: s.p50Us / k,
      p99Us: s.p99Us / k,
      minUs: s.minUs / k,
      maxUs: s.maxUs / k,
      sdUs: s.sdUs / k,
    },
  });
}

kernel.stop();
kernelNp.stop();
const row2 = (id) => rows.find((r) => r.id === id).stats;
console.log(
  `\nPoseidon over BN254 (node ${process.version}, ${os.cpus()[0]?.model ?? '?'} ×${os.cpus().length}, load ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}); figures per hash (per op for Fr)\n`,
);
console.log(figuresTable(rows));
console.log('\nSpeed-up over circomlibjs (its time / ours; target ≥ 1.5×, stretch 2×)\n');
console.log(ratiosTable(ratios).replaceAll('≤', '≥'));
console.log(
  `\nBN254 Fr, ns per operation (p50 / mean): ${mulTasks.map((t) => `${t.label} ${(row2(t.id).p50Us * 1000).toFixed(1)} / ${(row2(t.id).meanUs * 1000).toFixed(1)}`).join('; ')}`,
);
writeJson(`${ROOT}bench/results/poseidon.json`, {
  date: new Date().toISOString(),
  node: process.version,
  batch: BATCH,
  rows: rows.map((r) => ({ id: r.id, group: r.group, label: r.label, ...r.stats })),
  ratios,
});
process.exit(0);
