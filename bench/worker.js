/**
 * The worker tier's host-call cost (`node --no-warnings --expose-gc bench/worker.js [--quick]`).
 * Side by side in one run, the same guest (hello's `greet`: no host call; `stamp`: two, clock and
 * random) with the same host functions, through two transports:
 *   - before: Extism 1.0.3's own worker mode (`runInWorker: true`), what the worker tier used;
 *   - after: the worker tier's guest thread (sandbox/src/worker), what the kernel uses now;
 * and through the whole kernel in both tiers for context. One host call's cost is
 * (stamp − greet) / 2, on the medians. Target: after ≤ 200 µs per host call, and ≥ 5× cheaper
 * than before. CPU per call (process.cpuUsage, every thread) is measured in a separate loop.
 * Writes bench/results/worker.json.
 */
import os from 'node:os';
import createPlugin from '@extism/extism';
import { encodeCbor } from '@mcp0/abi';
import { GuestThread } from '@mcp0/sandbox';
import { ROOT, kernelWithHello, makeFixtures } from './lib/fixtures.js';
import { collect, measure } from './lib/measure.js';
import { figuresTable, writeJson } from './lib/report.js';

const TARGET = { perHostCallUs: 200, speedup: 5 };
const RESULTS = `${ROOT}bench/results/worker.json`;
const scale = process.argv.includes('--quick') ? 0.25 : 1;
const log = (msg) => process.stderr.write(`${msg}\n`);
const GREET = encodeCbor({ name: 'bench' });
const STAMP = encodeCbor({});

/**
 * hello's host functions, doing what the kernel's do for these calls: read the CBOR request
 * block, answer a CBOR `{ok: value}` block. Only clock_now and random_bytes are reached.
 */
function helloFunctions(wasmModule) {
  const answer = (ctx, handle, value) => {
    ctx.read(handle)?.bytes();
    return ctx.store(encodeCbor({ ok: value }));
  };
  const fns = {};
  for (const imp of WebAssembly.Module.imports(wasmModule)) {
    if (imp.module === 'mcp0:abi/v1' && imp.kind === 'function') fns[imp.name] = (ctx, h) => answer(ctx, h, null);
  }
  fns.clock_now = (ctx, h) => answer(ctx, h, Date.now());
  fns.random_bytes = (ctx, h) => answer(ctx, h, crypto.getRandomValues(new Uint8Array(8)));
  return { 'mcp0:abi/v1': fns };
}

async function extismWorker(fx) {
  const plugin = await createPlugin(
    { wasm: [{ module: fx.module, name: 'main' }] },
    { useWasi: false, runInWorker: true, functions: helloFunctions(fx.module) },
  );
  let calls = 0;
  const call = async (name, input) => {
    const out = await plugin.call(['main', name], input);
    // A reset is a round trip in Extism's worker: amortised, as the kernel did.
    if (++calls % 256 === 0) await plugin.reset();
    return out?.bytes();
  };
  return { call, close: () => plugin.close() };
}

async function guestThread(fx) {
  const thread = await GuestThread.start({ compiled: fx.module, functions: helloFunctions(fx.module), hostBytesPerCall: 16 << 20, onLog: () => undefined });
  return { call: (name, input) => thread.call(name, input), close: () => thread.terminate() };
}

async function viaKernel(fx, tier) {
  const k = await kernelWithHello(fx, tier);
  return { call: (name, input) => k.kernel.call('mcp0.hello', name, input), close: k.close };
}

async function cpuPerCall(call, name, input, n) {
  for (let i = 0; i < 50; i++) await call(name, input);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(name, input);
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / n, wallUs: ((performance.now() - t0) * 1000) / n };
}

const fx = makeFixtures();
const loadStart = os.loadavg();
log(`mcp0 worker bench: node ${process.version}, ${os.cpus().length} cpus, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`);
const paths = [
  ['before', 'Extism 1.0.3 runInWorker', extismWorker],
  ['after', 'kernel guest thread', guestThread],
  ['kernel.worker', 'kernel.call, worker tier', (f) => viaKernel(f, 'worker')],
  ['kernel.inline', 'kernel.call, inline tier', (f) => viaKernel(f, 'inline')],
];
const rows = [];
const perHostCall = {};
const cpu = {};
for (const [id, label, open] of paths) {
  const p = await open(fx);
  // Both exports must really run through the host functions before they are timed.
  const stamped = await p.call('stamp', STAMP);
  if (!stamped || stamped.length < 10) throw new Error(`${label}: stamp answered ${stamped?.length} bytes`);
  log(`${label} …`);
  const stats = await measure(
    [
      { id: `${id}.greet`, fn: () => p.call('greet', GREET) },
      { id: `${id}.stamp`, fn: () => p.call('stamp', STAMP) },
    ],
    { timeMs: Math.max(200, 1600 * scale), rounds: 2 },
  );
  for (const name of ['greet', 'stamp'])
    rows.push({ id: `${id}.${name}`, group: id, label: `${label}: ${name} (${name === 'greet' ? 0 : 2} host calls)`, stats: stats.get(`${id}.${name}`) });
  perHostCall[id] = (stats.get(`${id}.stamp`).p50Us - stats.get(`${id}.greet`).p50Us) / 2;
  const n = Math.max(50, Math.round((id === 'before' ? 300 : 2000) * scale));
  const g = await cpuPerCall(p.call, 'greet', GREET, n);
  const s = await cpuPerCall(p.call, 'stamp', STAMP, n);
  cpu[id] = { greetCpuUs: g.cpuUs, stampCpuUs: s.cpuUs, perHostCallCpuUs: (s.cpuUs - g.cpuUs) / 2 };
  await p.close();
  collect();
}

const speedup = perHostCall.before / perHostCall.after;
const verdict = perHostCall.after <= TARGET.perHostCallUs && speedup >= TARGET.speedup ? 'PASS' : 'FAIL';
const f = (v) => v.toFixed(1).padStart(8);
console.log('');
console.log(figuresTable(rows));
console.log('');
console.log('path                        per host call µs (p50)   CPU µs: greet    stamp  per host call');
for (const [id, label] of paths) {
  console.log(`${label.padEnd(28)}${f(perHostCall[id])}                 ${f(cpu[id].greetCpuUs)} ${f(cpu[id].stampCpuUs)} ${f(cpu[id].perHostCallCpuUs)}`);
}
console.log('');
console.log(
  `Target: a worker-tier host call ≤ ${TARGET.perHostCallUs} µs and ≥ ${TARGET.speedup}× cheaper than Extism's worker mode: ${verdict} (${perHostCall.after.toFixed(1)} µs, ${speedup.toFixed(1)}×)`,
);
writeJson(RESULTS, {
  suite: 'mcp0 worker bench',
  date: new Date().toISOString(),
  env: { node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: os.loadavg() },
  options: { scale },
  target: TARGET,
  verdict: { result: verdict, perHostCallUs: perHostCall, speedup },
  cpu,
  results: rows.map((r) => ({ id: r.id, group: r.group, label: r.label, ...r.stats })),
});
console.log(`\nwrote ${RESULTS.slice(ROOT.length)}`);
