/**
 * Trace benchmarks (`node --no-warnings --expose-gc bench/trace.js`, after `npm run build`):
 *  1. the trace hook's overhead per operation: `kernel.execute` of hello's echo with and without
 *     mcp0.trace observing (alternating rounds, same inputs, kv on an in-memory store);
 *  2. Groth16 over TraceBatch(32): prove time per batch and per event (full batch of 32 and a
 *     short batch of 5), and verify time, with the committed development artifacts.
 */
import { generateKeyPair, signModule } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { proveBatch, releaseZk, verifyBatch, loadVerificationKey } from '@mcp0/sdk/zk';
import { buildPlugin } from '@mcp0/builder';
import { collect, measure, summarise } from './lib/measure.js';
import { figuresTable, ratio, ratiosTable } from './lib/report.js';
import { GRANTS, HELLO, ROOT, helloBytes } from './lib/fixtures.js';

const log = (msg) => process.stderr.write(`${msg}\n`);
const key = generateKeyPair();
const trace = signModule((await buildPlugin(`${ROOT}plugins/trace`, { out: `${ROOT}plugins/trace/build/trace.wasm` })).wasm, key);
const hello = signModule(helloBytes(), key);

async function node(withTrace) {
  const store = new MemoryStore();
  const kernel = new Kernel({ trust: [key.publicKey], providers: { kv: store.kv } });
  await kernel.load(hello, { isolation: 'inline', grants: GRANTS });
  if (withTrace) {
    await kernel.load(trace, { isolation: 'inline', grants: [{ name: 'kv' }] });
    kernel.setPipeline({ admit: [], observe: ['mcp0.trace'] });
  }
  return kernel;
}

// 1. Hook overhead.
const plain = await node(false);
const traced = await node(true);
const input = new Uint8Array(64).fill(7);
log('trace hook overhead …');
const stats = await measure(
  [
    { id: 'execute', fn: () => plain.execute({ agent: HELLO, intent: 'echo', input }) },
    { id: 'execute+trace', fn: () => traced.execute({ agent: HELLO, intent: 'echo', input }) },
  ],
  { timeMs: 6000, rounds: 3 },
);
const rows = [
  { id: 'execute', group: 'hook', label: 'execute(echo 64 B), no hooks', stats: stats.get('execute') },
  { id: 'execute+trace', group: 'hook', label: 'execute(echo 64 B), trace observing', stats: stats.get('execute+trace') },
];
const traceHead = await traced.callValue('mcp0.trace', 'head', {});
await plain.stop();
await traced.stop();
collect();

// 2. Proving and verifying.
const vkey = await loadVerificationKey();
const events = (n, seed) => Array.from({ length: n }, (_, i) => ({ eventHash: BigInt(i + 1) * 1_000_003n + BigInt(seed), cost: 100 + i }));
const timed = async (fn) => {
  const t = performance.now();
  const r = await fn();
  return [performance.now() - t, r];
};
const proveRuns = { 32: [], 5: [] };
const verifyRuns = [];
for (let run = 0; run < 4; run++) {
  for (const n of [32, 5]) {
    log(`proving a batch of ${n} (run ${run + 1}/4) …`);
    const [ms, proof] = await timed(() => proveBatch({ prevRoot: 12345n + BigInt(run), events: events(n, run), costLimit: 1_000_000n }));
    if (run > 0) proveRuns[n].push(ms); // the first run warms the curve's worker threads up
    const [vms, ok] = await timed(() => verifyBatch(proof.proof, proof.publicSignals, vkey));
    if (!ok) throw new Error('a fresh proof did not verify');
    if (run > 0) verifyRuns.push(vms);
  }
}
await releaseZk();
const zkRows = [
  { id: 'prove32', group: 'zk', label: 'prove, batch of 32', stats: summarise(proveRuns[32]) },
  { id: 'prove5', group: 'zk', label: 'prove, batch of 5 (padded to 32)', stats: summarise(proveRuns[5]) },
  { id: 'verify', group: 'zk', label: 'verify (verification key only)', stats: summarise(verifyRuns) },
];

console.log(`\n${figuresTable([...rows, ...zkRows])}\n`);
console.log(ratiosTable([ratio('execute with trace / without', rows[1], rows[0])]));
const overheadUs = rows[1].stats.p50Us - rows[0].stats.p50Us;
console.log(`\ntrace hook overhead per operation: ${overheadUs.toFixed(0)} µs (p50); chain head after the run: seq ${traceHead.seq}`);
console.log(
  `prove per event: ${(zkRows[0].stats.p50Us / 32 / 1000).toFixed(1)} ms in a full batch of 32, ${(zkRows[1].stats.p50Us / 5 / 1000).toFixed(1)} ms in a batch of 5 (p50)`,
);
