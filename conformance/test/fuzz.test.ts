// A short fixed-seed slice of the fuzz campaign (npm run fuzz): mutated reference artifacts and,
// when wasm-tools is built, smith modules, each loaded in both tiers and called with hostile
// inputs in a child process. No host crash, and every outcome a typed code. Also: a seed gives the
// same module every time, and the RSS figures are computed as documented. Nothing here depends on
// time or rates, so a busy machine only makes it slower.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, generateKeyPair } from '@mcp0/abi';
import { referenceArtifacts, repositoryRoot } from '../src/fuzz/artifacts.js';
import { runCampaign, type CampaignOptions, type CampaignReport } from '../src/fuzz/campaign.js';
import { ModuleFactory } from '../src/fuzz/generate.js';
import { rssFigures } from '../src/fuzz/rss.js';
import { SmithGenerator, findWasmTools } from '../src/fuzz/smith.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const wasmTools = findWasmTools();
const limits = { memoryPages: 32, timeoutMs: 100 };

function options(generators: CampaignOptions['generators'], seed: number, modules: number): CampaignOptions {
  const crashDir = mkdtempSync(join(tmpdir(), 'mcp0-fuzz-crashes-'));
  dirs.push(crashDir);
  return {
    seed,
    modules,
    tiers: ['inline', 'worker'],
    generators,
    inputsPerExport: 1,
    limits,
    maxInputBytes: 4 << 20,
    slackMs: 10_000,
    rssCalls: 0,
    rssSampleEvery: 500,
    root: repositoryRoot(),
    crashDir,
    ...(wasmTools ? { wasmTools } : {}),
    target: { graceMs: 5_000, maxRssBytes: 3 * 2 ** 30, maxOldSpaceMb: 2048 },
    progress: () => undefined,
  };
}

/** The crash classes, one line each, for a failure message that says what to look at. */
function crashes(r: CampaignReport): string[] {
  return r.crashes.classes.map((c) => `${c.signature} (seeds ${c.seeds.join(', ')}; saved in ${c.folder})`);
}

function expectTypedOutcomes(r: CampaignReport): void {
  const codes = Object.keys(r.outcomes).map((k) => k.split(':')[1]!);
  expect(codes.filter((c) => c !== 'ok' && !Object.hasOwn(ERROR_CODES, c))).toEqual([]);
}

describe('fuzz campaign, fixed seeds', () => {
  it('40 mutated reference artifacts in both tiers: no host crash, every outcome typed', async () => {
    const r = await runCampaign(options(['mutate'], 1, 40));
    expect(r.modules.generated).toBe(40);
    expect(r.calls).toBeGreaterThan(0);
    expect(crashes(r)).toEqual([]);
    expectTypedOutcomes(r);
  }, 240_000);

  it.skipIf(!wasmTools)(
    '40 wasm-tools smith modules in both tiers: no host crash, every outcome typed',
    async () => {
      const r = await runCampaign(options(['smith'], 1, 40));
      expect(r.modules.generated + r.modules.skipped).toBe(40);
      expect(r.modules.loaded.inline).toBeGreaterThan(0);
      expect(crashes(r)).toEqual([]);
      expectTypedOutcomes(r);
    },
    240_000,
  );

  if (!wasmTools) console.warn('fuzz.test: wasm-tools 1.263.0 not found (set WASM_TOOLS or build it as .ci/run does): the smith slice is skipped');
});

describe('fuzz generators', () => {
  it('make the same module from the same seed', async () => {
    const key = generateKeyPair();
    const artifacts = referenceArtifacts(repositoryRoot());
    const generators: ('smith' | 'mutate')[] = wasmTools ? ['smith', 'mutate'] : ['mutate'];
    const smiths = wasmTools ? await Promise.all([SmithGenerator.create(wasmTools), SmithGenerator.create(wasmTools)]) : [];
    try {
      const [a, b] = [0, 1].map((i) => new ModuleFactory({ generators, artifacts, ...(smiths[i] ? { smith: smiths[i] } : {}), key, limits }));
      for (let seed = 100; seed < 110; seed++) {
        const [x, y] = await Promise.all([a!.make(seed), b!.make(seed)]);
        expect(y?.bytes).toEqual(x?.bytes);
        expect(y?.origin).toEqual(x?.origin);
      }
    } finally {
      await Promise.all(smiths.map((s) => s.close()));
    }
  }, 60_000);
});

describe('rssFigures', () => {
  const MB = 2 ** 20;
  const samples = (rss: (calls: number) => number) =>
    Array.from({ length: 20 }, (_, i) => ({ t: 'sample' as const, calls: (i + 1) * 500, rss: rss((i + 1) * 500) }));

  it('reads RSS at 1,000 and 10,000 calls and holds a flat run within the target', () => {
    const f = rssFigures(
      samples((c) => (c < 1000 ? 150 : 160) * MB),
      10_000,
      500,
      {},
    );
    expect(f).toMatchObject({ at1kMb: 160, atEndMb: 160, growth: 0, withinTarget: true });
  });

  it('fails a steady climb even when it stays within 20% overall', () => {
    // +19% over 9,000 calls: within 20% at the end, but an upward trend all the way.
    const f = rssFigures(
      samples((c) => (200 + (Math.max(0, c - 1000) / 9000) * 38) * MB),
      10_000,
      500,
      {},
    );
    expect(f.growth).toBeCloseTo(0.19, 2);
    expect(f.slopeMbPer1k).toBeCloseTo(4.22, 1);
    expect(f.withinTarget).toBe(false);
  });

  it('lets noise without a trend pass', () => {
    const f = rssFigures(
      samples((c) => (200 + (c % 1000 === 0 ? 6 : -6)) * MB),
      10_000,
      500,
      {},
    );
    expect(f.withinTarget).toBe(true);
  });
});
