/**
 * The campaign: generates modules seed after seed (the next one while the child runs the current
 * one), hands them to a target child, restarts the child after each host crash, records outcomes
 * by code and crashes by class, then runs the RSS run in a fresh child. Module `seed + i` is the
 * i-th module; a crash report names its seed, so a single module can be regenerated and rerun.
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError, appendManifest, generateKeyPair, hex, readManifest, signModule, type PrivateKey } from '@mcp0/abi';
import type { Tier } from '@mcp0/kernel';
import { helloArtifact, referenceArtifacts, type Artifact } from './artifacts.js';
import { CrashBook, type CrashClass } from './crashes.js';
import { ModuleFactory, type FuzzModule, type GeneratorName } from './generate.js';
import type { FuzzLimits } from './pack.js';
import type { InitMessage } from './protocol.js';
import { rssFigures, rssMessage, type RssFigures } from './rss.js';
import { SmithGenerator, WASM_TOOLS_VERSION } from './smith.js';
import { Target, type Crash, type TargetOptions } from './target.js';

/** What a campaign does. */
export interface CampaignOptions {
  /** Module i has seed `seed + i`. */
  seed: number;
  /** Stop generating modules after this long (seconds); the RSS run comes after. */
  seconds?: number;
  /** Stop after this many modules. */
  modules?: number;
  tiers: Tier[];
  generators: GeneratorName[];
  /** Saved crash artifacts to run instead of generating modules. */
  replay?: string[];
  inputsPerExport: number;
  limits: FuzzLimits;
  maxInputBytes: number;
  slackMs: number;
  /** Calls of the RSS run (0: none). */
  rssCalls: number;
  rssSampleEvery: number;
  root: string;
  crashDir: string;
  wasmTools?: string;
  target: TargetOptions;
  progress(line: string): void;
}

/** What a campaign found. */
export interface CampaignReport {
  seed: number;
  seconds: number;
  tiers: Tier[];
  generators: (GeneratorName | 'replay')[];
  wasmTools?: string;
  limits: FuzzLimits;
  modules: {
    generated: number;
    byGenerator: Record<string, number>;
    /** Seeds smith could not build a module from (its exit code 2). */
    skipped: number;
    /** Modules whose load succeeded, per tier. */
    loaded: Record<string, number>;
    /** Modules that could not be packed normally (unsigned, or bits flipped after signing). */
    packedAbnormally: number;
    lastSeed?: number;
  };
  calls: number;
  outcomes: Record<string, number>;
  crashes: { total: number; classes: CrashClass[]; folder: string };
  /** Calls answered EINTERNAL: typed, so not crashes, but host-side faults; saved like crashes. */
  internalErrors: { total: number; classes: CrashClass[] };
  childRestarts: number;
  maxLagMs: number;
  rss?: RssFigures & { crashes: number };
}

/** Modules from saved crash artifacts: their bytes, the seed their inputs came from, and the key that signed them. */
function replayModules(paths: readonly string[]): { modules: FuzzModule[]; keys: Uint8Array[] } {
  const keys: Uint8Array[] = [];
  const modules = paths.map((path, i): FuzzModule => {
    const bytes = new Uint8Array(readFileSync(path));
    const jsonPath = path.replace(/\.wasm$/, '.json');
    const saved = existsSync(jsonPath)
      ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as {
          crash?: { seed?: number };
          exports?: string[];
          publicKey?: string;
          generator?: string;
          origin?: Record<string, unknown>;
        })
      : {};
    if (saved.publicKey) keys.push(Uint8Array.from(Buffer.from(saved.publicKey, 'hex')));
    let exports = saved.exports;
    if (!exports) {
      try {
        exports = readManifest(bytes).exports.map((e) => e.name);
      } catch {
        exports = [];
      }
    }
    // What the module first came from travels along, so a replayed crash still says how it was made.
    const origin = saved.generator === 'replay' ? (saved.origin ?? {}) : { replay: path, generator: saved.generator, ...saved.origin };
    return { seed: saved.crash?.seed ?? i, generator: 'replay', origin, bytes, exports, ...(saved.publicKey ? { publicKey: saved.publicKey } : {}) };
  });
  return { modules, keys };
}

function add(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * Run a campaign.
 * @example
 * const report = await runCampaign({ ...defaults, seed: 1, modules: 40, generators: ['mutate'] })
 */
export async function runCampaign(o: CampaignOptions): Promise<CampaignReport> {
  if (o.generators.includes('smith') && !o.replay && !o.wasmTools)
    throw new UsageError('EUSAGE', 'the smith generator needs wasm-tools: set wasmTools (see findWasmTools)');
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const key: PrivateKey = generateKeyPair();
  const hello = helloArtifact(o.root);
  const needArtifacts = o.generators.includes('mutate') || o.rssCalls > 0;
  const artifacts: Artifact[] = needArtifacts ? referenceArtifacts(o.root) : [];
  const smith = o.generators.includes('smith') && !o.replay ? await SmithGenerator.create(o.wasmTools!) : undefined;
  const replay = o.replay ? replayModules(o.replay) : undefined;
  const factory = replay ? undefined : new ModuleFactory({ generators: o.generators, artifacts, ...(smith ? { smith } : {}), key, limits: o.limits });
  const init: InitMessage = {
    t: 'init',
    trust: [key.publicKey.bytes, ...(replay?.keys ?? [])],
    hello: signModule(appendManifest(hello.bare, hello.manifest), key),
    tiers: o.tiers,
    limits: o.limits,
    slackMs: o.slackMs,
    inputsPerExport: o.inputsPerExport,
    maxInputBytes: o.maxInputBytes,
  };
  const book = new CrashBook(o.crashDir);
  const internal = new CrashBook(o.crashDir);
  const report: CampaignReport = {
    seed: o.seed,
    seconds: 0,
    tiers: o.tiers,
    generators: replay ? ['replay'] : o.generators,
    ...(o.wasmTools && smith ? { wasmTools: `${o.wasmTools} (${WASM_TOOLS_VERSION})` } : {}),
    limits: o.limits,
    modules: { generated: 0, byGenerator: {}, skipped: 0, loaded: Object.fromEntries(o.tiers.map((t) => [t, 0])), packedAbnormally: 0 },
    calls: 0,
    outcomes: {},
    crashes: { total: 0, classes: [], folder: o.crashDir },
    internalErrors: { total: 0, classes: [] },
    childRestarts: 0,
    maxLagMs: 0,
  };
  const context = (m: FuzzModule | undefined, crash: Crash) => ({
    generator: m?.generator,
    origin: m?.origin,
    packing: m?.packing,
    exports: m?.exports,
    tiers: o.tiers,
    limits: o.limits,
    publicKey: m?.publicKey ?? hex(key.publicKey.bytes),
    artifacts: artifacts.map((a) => a.path),
    wasmTools: smith ? WASM_TOOLS_VERSION : undefined,
    ...(m?.generator === 'replay'
      ? {}
      : {
          reproduce: `npm run fuzz -- --seed ${crash.seed} --modules 1 --generators ${m?.generator ?? o.generators.join(',')} --tiers ${crash.tier ?? o.tiers.join(',')} --rss-calls 0`,
        }),
  });
  const record = (crashes: readonly Crash[], moduleOf: (crash: Crash, index: number) => FuzzModule | undefined) => {
    for (const [index, crash] of crashes.entries()) {
      const m = moduleOf(crash, index);
      if (crash.kind === 'internal-error') {
        if (internal.add(crash, m?.bytes, context(m, crash)).count === 1)
          o.progress(`fuzz: EINTERNAL seed ${crash.seed} (${crash.tier}, ${crash.phase}): ${crash.message.slice(0, 300)}`);
        continue;
      }
      const c = book.add(crash, m?.bytes, context(m, crash));
      o.progress(
        `fuzz: HOST CRASH seed ${crash.seed}: ${crash.kind}${crash.tier ? ` (${crash.tier}, ${crash.phase})` : ''}: ${crash.message.slice(0, 300)} → ${c.folder}`,
      );
    }
  };

  let target = await Target.start(init, o.target);
  let lastProgress = 0;
  let previous: FuzzModule | undefined;
  const done = (i: number) =>
    replay ? i >= replay.modules.length : (o.modules !== undefined && i >= o.modules) || (o.seconds !== undefined && elapsed() >= o.seconds);
  const make = (i: number) => (replay ? Promise.resolve(replay.modules[i]) : factory!.make(o.seed + i));
  try {
    // The next module is generated while the child runs the current one. A generation left in
    // flight when the campaign stops is dropped; its failure must not surface as unhandled.
    const prefetch = (i: number) => {
      if (done(i)) return undefined;
      const p = make(i);
      p.catch(() => undefined);
      return p;
    };
    let next = prefetch(0);
    for (let i = 0; next; i++) {
      const module = await next;
      next = prefetch(i + 1);
      report.modules.lastSeed = o.seed + i;
      if (!module) {
        report.modules.skipped++;
        continue;
      }
      report.modules.generated++;
      report.modules.byGenerator[module.generator] = (report.modules.byGenerator[module.generator] ?? 0) + 1;
      if (module.packing) report.modules.packedAbnormally++;
      const run = await target.run({ t: 'module', seed: module.seed, bytes: module.bytes, exports: module.exports });
      if (run.done) {
        add(report.outcomes, run.done.outcomes);
        report.calls += run.done.calls;
        for (const t of run.done.loaded) report.modules.loaded[t] = (report.modules.loaded[t] ?? 0) + 1;
        report.maxLagMs = Math.max(report.maxLagMs, run.done.maxLagMs);
      }
      record([...run.crashes, ...target.takeOrphans()], (c) => [module, previous].find((m) => m?.seed === c.seed));
      previous = module;
      if (run.dead || target.dead) {
        await target.close();
        report.childRestarts++;
        target = await Target.start(init, o.target);
      }
      if (performance.now() - lastProgress > 5000) {
        lastProgress = performance.now();
        o.progress(
          `fuzz: ${Math.round(elapsed())} s, ${report.modules.generated} modules (${Object.entries(report.modules.byGenerator)
            .map(([g, n]) => `${g} ${n}`)
            .join(', ')}), ${report.calls} calls, ${book.total} host crashes, ${internal.total} EINTERNAL`,
        );
      }
    }
  } finally {
    await target.close();
    await smith?.close();
  }
  report.seconds = Math.round(elapsed());

  if (o.rssCalls > 0 && !replay) {
    o.progress(`fuzz: RSS run: ${o.rssCalls} hostile calls against ${artifacts.length} reference modules in ${o.tiers.join(', ')}`);
    const rssTarget = await Target.start(init, o.target);
    try {
      const message = rssMessage(artifacts, key, o.limits, o.seed, o.rssCalls, o.rssSampleEvery);
      const run = await rssTarget.rss(message, (s) => {
        if (s.calls % 2000 === 0 || s.calls === 1000) o.progress(`fuzz: RSS after ${s.calls} calls: ${Math.round(s.rss / 2 ** 20)} MiB`);
      });
      // A crash in the RSS run saves the module it was calling (named fuzz.rss<i>.<tier>/<export>).
      const rssModules = run.crashes.map((c): FuzzModule | undefined => {
        const i = /^fuzz\.rss(\d+)\./.exec(c.export ?? '')?.[1];
        const m = i === undefined ? undefined : message.modules[Number(i)];
        return m && { seed: c.seed, generator: 'mutate', origin: { rss: artifacts[Number(i)]!.path, unmutated: true }, bytes: m.bytes, exports: m.exports };
      });
      record(run.crashes, (_, index) => rssModules[index]);
      report.rss = {
        ...rssFigures(run.samples, run.calls, o.rssSampleEvery, run.outcomes),
        crashes: run.crashes.filter((c) => c.kind !== 'internal-error').length,
      };
    } finally {
      await rssTarget.close();
    }
  }
  report.crashes = { total: book.total, classes: book.classes(), folder: book.folder };
  report.internalErrors = { total: internal.total, classes: internal.classes() };
  return report;
}
