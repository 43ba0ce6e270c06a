/**
 * Where the time goes, for the figures `npm run bench` reports. Not part of `npm run bench`:
 *   npm run build && node --expose-gc --no-warnings bench/profile.js [call] [worker] [load] [--sizes=16,1024]
 * (no section named: all three).
 *
 * call — two views of the kernel inline echo call, per payload size (default 16 and 1024 bytes):
 *  - layers: the call measured at each layer of the kernel's path, outermost last, so each
 *    difference is what that layer adds:
 *      bare Extism (call + reset) → + the kernel's alloc wrapper → Instance.call (sandbox: inline-instance.ts)
 *      → LoadedModule.invoke (module.ts: queue, metering) → Kernel.call (kernel.ts #invoke),
 *    each with its unprofiled GC cost (perf_hooks 'gc' entries) and bytes allocated per call;
 *    plus, aside, bare Extism called as ['main', 'echo'] (skips its per-call export lookup);
 *  - a CPU profile (node:inspector, 100 µs sampling) of bare and kernel loops, self time per call
 *    grouped by where the code lives.
 * worker — bare Extism runInWorker, the same with the kernel's per-call timeout race (a copy of
 *   WorkerInstance#withTimeout), and the kernel's worker tier, at 16 B.
 * load — each step of verifyArtifact (kernel/src/verify.ts) timed on its own.
 * It creates an inline instance with @mcp0/sandbox's createInstance to time the Instance layer.
 */
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import createPlugin from '@extism/extism';
import { checkAbi, checkExports, checkImports, ed25519Sign, ed25519Verify, parseSections, readManifest, verifyModule } from '@mcp0/abi';
import { capMemory, effectiveCapabilities, verifyArtifact } from '@mcp0/kernel';
import { sha256 } from '@noble/hashes/sha2.js';
import { createInstance } from '@mcp0/sandbox';
import { GRANTS, HELLO, assertEcho, barePlugin, kernelWithHello, makeFixtures, payload } from './lib/fixtures.js';
import { collect, measure } from './lib/measure.js';

const args = process.argv.slice(2);
const sizes = (args.find((a) => a.startsWith('--sizes='))?.slice(8) ?? '16,1024')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const named = ['call', 'worker', 'load'].filter((s) => args.includes(s));
const sections = new Set(named.length ? named : ['call', 'worker', 'load']);

const fx = makeFixtures();
const stubs = Object.fromEntries(
  WebAssembly.Module.imports(fx.module)
    .filter((i) => i.module === 'mcp0:abi/v1')
    .map((i) => [i.name, () => 0n]),
);

if (sections.has('call')) await callSection();
if (sections.has('worker')) await workerSection();
if (sections.has('load')) await loadSection();

async function callSection() {
  // Layer 1: bare Extism, as in run.js.
  const bare = await barePlugin(fx);

  // Aside: the same bare plugin called as ['main', 'echo']. Extism 1.0.3 resolves a bare export name
  // by calling WebAssembly.Module.exports() on every call; a [module, export] tuple skips that.
  const tuple = await createPlugin({ wasm: [{ module: fx.module, name: 'main' }] }, { useWasi: false, functions: { 'mcp0:abi/v1': stubs } });
  const namedCall = async (input) => {
    const out = await tuple.call(['main', 'echo'], input);
    await tuple.reset();
    return out;
  };

  // Layer 2: bare Extism plus an alloc wrapper like the one the inline instance (InlineInstance.create) installs.
  let allocated = 0;
  const wrapped = await createPlugin(
    { wasm: [{ module: fx.module }] },
    { useWasi: false, functions: { 'mcp0:abi/v1': stubs, 'extism:host/env': { alloc: (ctx, n) => ((allocated += Number(n)), ctx.alloc(n)) } } },
  );
  const wrappedCall = async (input) => {
    const out = await wrapped.call('echo', input);
    await wrapped.reset();
    return out;
  };

  // Layer 3: the sandbox's inline Instance on its own (alloc wrapper, exactBytes, bytes(), classify, reset).
  const instance = await createInstance({
    name: HELLO,
    compiled: fx.module,
    tier: 'inline',
    preempt: false,
    memoryPages: 64,
    timeoutMs: 1000,
    hostBytesPerCall: 64 << 20,
    functions: { 'mcp0:abi/v1': stubs },
    config: {},
    onLog: () => undefined,
  });

  // Layers 4 and 5: the module (queue, state checks, metering) and the kernel (lookup, export check).
  const k = await kernelWithHello(fx, 'inline');
  const mod = k.kernel.module(HELLO);

  const layers = [
    ['tuple', "aside: bare, ['main','echo']", (input) => namedCall(input)],
    ['bare', 'bare Extism call + reset', (input) => bare.call(input)],
    ['alloc', '+ alloc wrapper (host fn)', (input) => wrappedCall(input)],
    ['instance', 'Instance.call', (input) => instance.call('echo', input)],
    ['module', 'LoadedModule.invoke', (input) => mod.invoke('echo', input, { chain: [] })],
    ['kernel', 'Kernel.call', (input) => k.call(input)],
  ];

  for (const size of sizes) {
    const input = payload(size);
    for (const [id, , fn] of layers) await assertEcho(id, fn, input);
    console.log(`\n== echo ${size} B: layers (mean and p50 over 3 alternating rounds) ==`);
    const stats = await measure(
      layers.map(([id, , fn]) => ({ id, fn: () => fn(input) })),
      { timeMs: 2500, rounds: 3 },
    );
    let prev;
    const base = stats.get('bare');
    console.log(`${'layer'.padEnd(30)} mean µs   +Δ mean   p50 µs   +Δ p50  ×bare p50   GC µs/call  scav/1k  B/call`);
    for (const [id, label, fn] of layers) {
      const s = stats.get(id);
      const g = await gcCost(() => fn(input));
      const delta = (a, b) => (prev ? (a - b).toFixed(2) : '');
      console.log(
        `${label.padEnd(30)} ${s.meanUs.toFixed(2).padStart(7)} ${delta(s.meanUs, prev?.meanUs).padStart(9)} ${s.p50Us.toFixed(2).padStart(8)} ${delta(s.p50Us, prev?.p50Us).padStart(8)} ${`${(s.p50Us / base.p50Us).toFixed(2)}×`.padStart(9)}   ${g.gcUsPerCall.toFixed(2).padStart(10)} ${g.scavengesPer1k.toFixed(2).padStart(8)} ${String(g.bytesPerCall ?? '—').padStart(7)}`,
      );
      if (id !== 'tuple') prev = s;
    }
    const measuredMean = { bare: base.meanUs, kernel: stats.get('kernel').meanUs };
    collect();

    console.log(`\n== echo ${size} B: CPU profile, self time per call, by location ==`);
    console.log("(sampling inflates every call, so each profile is scaled to its path's unprofiled mean above: est. µs)");
    const bareProfile = scale(await profile(() => bare.call(input), 1500), measuredMean.bare);
    const kernelProfile = scale(await profile(() => k.call(input), 1500), measuredMean.kernel);
    const keys = [...new Set([...Object.keys(bareProfile.byPlace), ...Object.keys(kernelProfile.byPlace)])];
    keys.sort((a, b) => (kernelProfile.byPlace[b] ?? 0) - (kernelProfile.byPlace[a] ?? 0));
    console.log(`${'location'.padEnd(44)} ${'bare'.padStart(7)} ${'kernel'.padStart(7)} ${'Δ'.padStart(7)}`);
    for (const key of keys) {
      const b = bareProfile.byPlace[key] ?? 0;
      const kk = kernelProfile.byPlace[key] ?? 0;
      if (b < 0.05 && kk < 0.05) continue;
      console.log(`${key.padEnd(44)} ${b.toFixed(2).padStart(7)} ${kk.toFixed(2).padStart(7)} ${(kk - b).toFixed(2).padStart(7)}`);
    }
    console.log(
      `${'total (= unprofiled mean)'.padEnd(44)} ${bareProfile.total.toFixed(2).padStart(7)} ${kernelProfile.total.toFixed(2).padStart(7)} ${(kernelProfile.total - bareProfile.total).toFixed(2).padStart(7)}`,
    );
    console.log('\ntop functions on the kernel path by self time per call (est. µs):');
    for (const [fn, us] of Object.entries(kernelProfile.byFunction)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 18))
      console.log(`  ${us.toFixed(3).padStart(7)}  ${fn}`);
    collect();
  }

  await k.close();
  await instance.close();
  await wrapped.close();
  await tuple.close();
  await bare.close();
}

async function workerSection() {
  const input = payload(16);
  const bare = await barePlugin(fx, { worker: true });
  // The worker tier races every call against a timer (WorkerInstance#withTimeout); same here.
  const raced = async (input) => {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), 1000);
    });
    try {
      return await Promise.race([bare.call(input), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  const k = await kernelWithHello(fx, 'worker');
  await assertEcho('kernel worker', k.call, input);
  console.log('\n== worker tier, echo 16 B (3 alternating rounds) ==');
  const rows = [
    ['bare', 'bare Extism runInWorker', () => bare.call(input)],
    ['raced', '+ timeout race (setTimeout)', () => raced(input)],
    ['kernel', 'kernel worker tier', () => k.call(input)],
  ];
  const stats = await measure(
    rows.map(([id, , fn]) => ({ id, fn })),
    { timeMs: 3000, rounds: 3 },
  );
  console.log(`${'path'.padEnd(30)} mean µs   p50 µs   p99 µs`);
  for (const [id, label] of rows) {
    const s = stats.get(id);
    console.log(`${label.padEnd(30)} ${s.meanUs.toFixed(2).padStart(7)} ${s.p50Us.toFixed(2).padStart(8)} ${s.p99Us.toFixed(1).padStart(8)}`);
  }
  await k.close();
  await bare.close();
  collect();
}

async function loadSection() {
  const { signed, trust } = fx;
  const manifest = readManifest(signed);
  const capped = capMemory(signed, 64);
  const compiled = await WebAssembly.compile(capped);
  const seed = fx.key.seed;
  const msg = sha256(signed);
  const sig = ed25519Sign(msg, seed);
  const steps = [
    ['parseSections', () => parseSections(signed)],
    ['verifyModule (whole)', () => verifyModule(signed, trust)],
    ['  of which: sha256 of the module', () => sha256(signed)],
    ['  of which: one ed25519Verify', () => ed25519Verify(sig, msg, trust[0].bytes)],
    ['readManifest (JSON, schema, JCS)', () => readManifest(signed)],
    ['checkAbi', () => checkAbi(manifest)],
    ['capMemory', () => capMemory(signed, 64)],
    ['WebAssembly.compile', () => WebAssembly.compile(capped), true],
    ['checkImports + checkExports', () => (checkImports(compiled), checkExports(compiled, manifest))],
    ['effectiveCapabilities', () => effectiveCapabilities(manifest, GRANTS)],
    ['sha256 (VerifiedModule.sha256)', () => Buffer.from(sha256(signed)).toString('hex')],
    ['verifyArtifact (all of the above)', () => verifyArtifact(signed, { trust, grants: GRANTS }), true],
  ];
  console.log(`\n== verifyArtifact, step by step (${signed.length} B artifact, 2 alternating rounds) ==`);
  const stats = await measure(
    steps.map(([id, fn, isAsync]) => ({ id, fn, async: isAsync === true })),
    { timeMs: 1000, rounds: 2 },
  );
  console.log(`${'step'.padEnd(36)} mean µs   p50 µs`);
  for (const [id] of steps) {
    const s = stats.get(id);
    console.log(`${id.padEnd(36)} ${s.meanUs.toFixed(1).padStart(7)} ${s.p50Us.toFixed(1).padStart(8)}`);
  }
  collect();
}

/** Scale a profile's per-call figures so that they add up to `meanUs`. */
function scale(p, meanUs) {
  const f = meanUs / p.total;
  const map = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v * f]));
  return { ...p, byPlace: map(p.byPlace), byFunction: map(p.byFunction), total: meanUs, inflation: 1 / f };
}

/**
 * Garbage collection caused by `fn`, unprofiled: GC pause time per call and scavenges per 1000
 * calls from perf_hooks 'gc' entries over 20k calls, and bytes allocated per call from heapUsed over
 * short windows in which no collection ran (median of those windows).
 */
async function gcCost(fn) {
  for (let i = 0; i < 2000; i++) await fn();
  collect();
  let gcMs = 0;
  let scavenges = 0;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcs++;
      if (e.detail?.kind === 1) scavenges++; // NODE_PERFORMANCE_GC_MINOR
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const N = 20000;
  for (let i = 0; i < N; i++) await fn();
  await new Promise((r) => setTimeout(r, 20));
  obs.disconnect();
  const perWindow = [];
  for (let w = 0; w < 40 && perWindow.length < 15; w++) {
    const before = gcs;
    const observer = new PerformanceObserver((list) => (gcs += list.getEntries().length));
    observer.observe({ entryTypes: ['gc'] });
    const h0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200; i++) await fn();
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 20));
    observer.disconnect();
    if (gcs === before && h1 > h0) perWindow.push((h1 - h0) / 200);
  }
  perWindow.sort((a, b) => a - b);
  const bytesPerCall = perWindow.length ? Math.round(perWindow[perWindow.length >> 1]) : undefined;
  return { gcUsPerCall: (gcMs * 1000) / N, scavengesPer1k: (scavenges * 1000) / N, bytesPerCall };
}

/** Run `fn` in a loop for `ms` under the sampling profiler; self time per call by place and function. */
async function profile(fn, ms) {
  for (let i = 0; i < 5000; i++) await fn(); // warm
  collect();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  let calls = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await fn();
    calls += 100;
  }
  const { profile: p } = await session.post('Profiler.stop');
  session.disconnect();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
  const byPlace = {};
  const byFunction = {};
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: cf } = byId.get(id);
    const place = placeOf(cf);
    const perCall = us / calls;
    total += perCall;
    byPlace[place] = (byPlace[place] ?? 0) + perCall;
    const fnName = `${cf.functionName || '(anonymous)'} ${place}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    byFunction[fnName] = (byFunction[fnName] ?? 0) + perCall;
  }
  return { calls, byPlace, byFunction, total };
}

function placeOf(cf) {
  const url = cf.url ?? '';
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : `(native) ${cf.functionName}`;
  if (url.startsWith('wasm://')) return 'wasm guest';
  if (url.includes('@extism/extism')) return 'extism mod.js';
  if (url.includes('/kernel/dist/')) return `kernel ${url.slice(url.lastIndexOf('/') + 1)}`;
  if (url.includes('/sandbox/dist/')) return `sandbox ${url.slice(url.indexOf('/sandbox/dist/') + 14)}`;
  if (url.includes('/abi/dist/')) return `abi ${url.slice(url.indexOf('/abi/dist/') + 10)}`;
  if (url.includes('/bench/')) return `bench ${url.slice(url.lastIndexOf('/') + 1)}`;
  if (url.startsWith('node:')) return url;
  return url.slice(url.lastIndexOf('/') + 1);
}
