#!/usr/bin/env node
// Times Groth16 fullProve and verify for TraceBatch(32) with the bundled artifacts:
//   node scripts/zk/bench.mjs [runs=5] [--single-thread]
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as snarkjs from 'snarkjs';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../sdk/zk/trace_batch_32');
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
const singleThread = process.argv.includes('--single-thread');
const vkey = JSON.parse(readFileSync(join(DIR, 'verification_key.json'), 'utf8'));
const N = 32;
const input = (seed) => ({
  prevRoot: String(12345n + BigInt(seed)),
  costLimit: '1000000',
  eventHash: Array.from({ length: N }, (_, i) => String(BigInt(i + 1) * 1000003n + BigInt(seed))),
  cost: Array.from({ length: N }, (_, i) => String(100 + i)),
  active: Array.from({ length: N }, () => '1'),
});
const prove = [];
const verify = [];
for (let r = 0; r < runs; r++) {
  let t = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(
    input(r),
    join(DIR, 'trace_batch.wasm'),
    join(DIR, 'trace_batch_final.zkey'),
    undefined,
    undefined,
    { singleThread },
  );
  prove.push(performance.now() - t);
  t = performance.now();
  if (!(await snarkjs.groth16.verify(vkey, publicSignals, proof))) throw new Error('proof did not verify');
  verify.push(performance.now() - t);
}
const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
console.log(`TraceBatch(${N}) ${singleThread ? 'single-thread' : 'multi-thread'}: fullProve ms [${fmt(prove)}], verify ms [${fmt(verify)}]`);
await globalThis.curve_bn128?.terminate();
