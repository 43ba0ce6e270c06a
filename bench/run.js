/**
 * MCP-ZERO benchmark suite (`npm run bench`). Measures, side by side in one run:
 *   1. a kernel call to an inline plugin against a bare Extism 1.0.3 call of the same export
 *      (hello's `echo`) at 16 B, 1 KiB and 64 KiB — target: kernel ≤ 1.5× bare at 16 B and 1 KiB;
 *   2. the same through the worker tier, against bare Extism `runInWorker: true`;
 *   3. loading: signature verification alone, every load check (`verifyArtifact`), and a full
 *      inline `kernel.load` + `kernel.unload`.
 * Prints a table and the ratios, and writes the same to bench/results/latest.json. Always exits 0
 * unless the suite itself breaks: a missed target is a FAIL in the report, not a failed process.
 * Flags: --quick (a quarter of the time, for a smoke run), --only=inline,worker,load.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import createPlugin from '@extism/extism';
import { verifyModule } from '@mcp0/abi';
import { Kernel, verifyArtifact } from '@mcp0/kernel';
import { MemoryStore } from '@mcp0/sdk';
import { GRANTS, HELLO, ROOT, assertEcho, barePlugin, kernelWithHello, makeFixtures, payload } from './lib/fixtures.js';
import { collect, measure } from './lib/measure.js';
import { figuresTable, ratio, ratiosTable, writeJson } from './lib/report.js';

/** The inline-call target: kernel ≤ 1.5× bare Extism, judged on the median (see README). */
const TARGET = { ratio: 1.5, on: 'p50', sizes: [16, 1024] };
const RESULTS = `${ROOT}bench/results/latest.json`;

const args = process.argv.slice(2);
const scale = args.includes('--quick') ? 0.25 : 1;
const only = new Set((args.find((a) => a.startsWith('--only='))?.slice(7) ?? 'inline,worker,load').split(','));
const ms = (n) => Math.max(50, Math.round(n * scale));

const SIZE_LABEL = { 16: '16 B', 1024: '1 KiB', 65536: '64 KiB' };
const rows = [];
const log = (msg) => process.stderr.write(`${msg}\n`);
const started = performance.now();
const loadStart = os.loadavg();

function addRows(group, stats, labels) {
  for (const [id, label] of labels) rows.push({ id, group, label, stats: stats.get(id) });
}
const row = (id) => rows.find((r) => r.id === id);

const fx = makeFixtures();
log(
  `mcp0 bench: node ${process.version}, ${os.cpus().length} cpus, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}${typeof globalThis.gc === 'function' ? '' : ' (no --expose-gc: groups are not separated by a collection)'}`,
);

// 1. Inline kernel call vs bare Extism in-process, reset after every call.
if (only.has('inline')) {
  const bare = await barePlugin(fx);
  const k = await kernelWithHello(fx, 'inline');
  for (const size of [16, 1024, 65536]) {
    const input = payload(size);
    await assertEcho('bare inline', bare.call, input);
    await assertEcho('kernel inline', k.call, input);
    const big = size > 4096;
    log(`inline echo ${SIZE_LABEL[size]} …`);
    const stats = await measure(
      [
        { id: `inline.bare.${size}`, fn: () => bare.call(input) },
        { id: `inline.kernel.${size}`, fn: () => k.call(input) },
      ],
      { timeMs: ms(big ? 1200 : 3000), rounds: big ? 2 : 3 },
    );
    addRows('inline', stats, [
      [`inline.bare.${size}`, `bare Extism echo ${SIZE_LABEL[size]}`],
      [`inline.kernel.${size}`, `kernel echo ${SIZE_LABEL[size]}`],
    ]);
  }
  await k.close();
  await bare.close();
  collect();
}

// 2. Worker tier vs bare Extism runInWorker (both reset every 256 calls).
if (only.has('worker')) {
  const bare = await barePlugin(fx, { worker: true });
  const k = await kernelWithHello(fx, 'worker');
  for (const size of [16, 1024]) {
    const input = payload(size);
    await assertEcho('bare worker', bare.call, input);
    await assertEcho('kernel worker', k.call, input);
    log(`worker echo ${SIZE_LABEL[size]} …`);
    const stats = await measure(
      [
        { id: `worker.bare.${size}`, fn: () => bare.call(input) },
        { id: `worker.kernel.${size}`, fn: () => k.call(input) },
      ],
      { timeMs: ms(1500), rounds: 3 },
    );
    addRows('worker', stats, [
      [`worker.bare.${size}`, `bare Extism worker echo ${SIZE_LABEL[size]}`],
      [`worker.kernel.${size}`, `kernel worker echo ${SIZE_LABEL[size]}`],
    ]);
  }
  await k.close();
  await bare.close();
  collect();
}

// 3. Loading and verifying the plugin.
if (only.has('load')) {
  const grants = GRANTS;
  const kernel = new Kernel({ trust: fx.trust, providers: { kv: new MemoryStore().kv } });
  const loadUnload = async () => {
    await kernel.load(fx.signed, { isolation: 'inline', grants });
    await kernel.unload(HELLO);
  };
  await loadUnload();
  const stubs = Object.fromEntries(
    WebAssembly.Module.imports(fx.module)
      .filter((i) => i.module === 'mcp0:abi/v1')
      .map((i) => [i.name, () => 0n]),
  );
  log('load and verify …');
  const stats = await measure(
    [
      { id: 'load.verifyModule', fn: () => verifyModule(fx.signed, fx.trust), async: false },
      { id: 'load.verifyArtifact', fn: () => verifyArtifact(fx.signed, { trust: fx.trust, grants }) },
      { id: 'load.kernelLoadUnload', fn: loadUnload },
      { id: 'load.ref.compile', fn: () => WebAssembly.compile(fx.wasm) },
      {
        id: 'load.ref.bareCreateClose',
        fn: async () => (await createPlugin({ wasm: [{ module: fx.module }] }, { useWasi: false, functions: { 'mcp0:abi/v1': stubs } })).close(),
      },
    ],
    { timeMs: ms(1200), rounds: 2 },
  );
  addRows('load', stats, [
    ['load.verifyModule', 'verifyModule (signature only)'],
    ['load.verifyArtifact', 'verifyArtifact (all load checks)'],
    ['load.kernelLoadUnload', 'kernel.load + unload (inline)'],
    ['load.ref.compile', 'ref: WebAssembly.compile'],
    ['load.ref.bareCreateClose', 'ref: bare createPlugin + close'],
  ]);
  await kernel.stop();
  collect();
}

// Ratios and verdicts.
const ratios = [];
const checks = [];
for (const size of [16, 1024, 65536]) {
  const num = row(`inline.kernel.${size}`);
  const den = row(`inline.bare.${size}`);
  if (!num || !den) continue;
  const targeted = TARGET.sizes.includes(size);
  const r = ratio(`kernel inline / bare, ${SIZE_LABEL[size]}`, num, den, targeted ? { target: TARGET.ratio, on: TARGET.on } : {});
  ratios.push(r);
  if (targeted) checks.push({ size, ratio: r[TARGET.on], target: TARGET.ratio, on: TARGET.on, verdict: r.verdict, meanRatio: r.mean });
}
for (const size of [16, 1024]) {
  const kw = row(`worker.kernel.${size}`);
  const bw = row(`worker.bare.${size}`);
  const ki = row(`inline.kernel.${size}`);
  if (kw && bw) ratios.push(ratio(`kernel worker / bare worker, ${SIZE_LABEL[size]}`, kw, bw));
  if (kw && ki) ratios.push(ratio(`kernel worker / kernel inline, ${SIZE_LABEL[size]}`, kw, ki));
}
if (row('load.verifyArtifact') && row('load.verifyModule')) {
  ratios.push(ratio('verifyArtifact / verifyModule', row('load.verifyArtifact'), row('load.verifyModule')));
  ratios.push(ratio('load+unload / verifyArtifact', row('load.kernelLoadUnload'), row('load.verifyArtifact')));
}

const verdict = checks.length === 0 ? { result: 'SKIPPED', checks } : { result: checks.every((c) => c.verdict === 'PASS') ? 'PASS' : 'FAIL', checks };
const durationS = (performance.now() - started) / 1000;

console.log('');
console.log(figuresTable(rows));
console.log('');
console.log(ratiosTable(ratios));
console.log('');
console.log(
  `Target: kernel inline call ≤ ${TARGET.ratio}× bare Extism at ${TARGET.sizes.map((s) => SIZE_LABEL[s]).join(' and ')} (on the ${TARGET.on}): ${verdict.result}` +
    (checks.length ? ` (${checks.map((c) => `${SIZE_LABEL[c.size]} ${c.ratio.toFixed(2)}×`).join(', ')})` : ''),
);

writeJson(RESULTS, {
  suite: 'mcp0 bench',
  date: new Date().toISOString(),
  durationS,
  env: {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadavgStart: loadStart,
    loadavgEnd: os.loadavg(),
    gcExposed: typeof globalThis.gc === 'function',
    extism: version('@extism/extism'),
    tinybench: version('tinybench'),
    commit: commit(),
  },
  options: { scale, groups: [...only] },
  target: TARGET,
  verdict,
  results: rows.map((r) => ({ id: r.id, group: r.group, label: r.label, ...r.stats })),
  ratios,
});
console.log(`\nwrote ${RESULTS.slice(ROOT.length)} in ${durationS.toFixed(1)} s`);

function version(pkg) {
  try {
    return JSON.parse(readFileSync(`${ROOT}node_modules/${pkg}/package.json`, 'utf8')).version;
  } catch {
    return undefined;
  }
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
