// diffDistributions names every kind of change between two documents, one line each, and nothing
// when they are equal: the words verify prints after a document changed since it was signed.
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '@mcp0/abi';
import { diffDistributions } from './diff.js';
import { keyEntry } from './keys.js';
import { DEFAULT_BUDGETS, type DistributionDocument, type PluginEntry } from './types.js';

const a = keyEntry(generateKeyPair().publicKey);
const b = keyEntry(generateKeyPair().publicKey);
const plugin = (name: string, sha: string, extra: Partial<PluginEntry> = {}): PluginEntry => ({
  name,
  version: '1.0.0',
  file: `plugins/${name}.wasm`,
  sha256: sha.repeat(64),
  grants: ['kv'],
  config: {},
  isolation: 'inline',
  ...extra,
});
const base = (): DistributionDocument => ({
  name: 'x',
  version: '1.0.0',
  abi: '^1.0',
  assembler: a,
  publishers: [a],
  plugins: [plugin('acme.one', 'a'), plugin('acme.two', 'b')],
  pipeline: { admit: ['acme.one'], observe: [] },
  budgets: { ...DEFAULT_BUDGETS },
});
const after = (edit: (d: DistributionDocument) => void) => {
  const d = structuredClone(base());
  edit(d);
  return diffDistributions(base(), d);
};

describe('diffDistributions', () => {
  it('finds nothing between equal documents', () => {
    expect(diffDistributions(base(), base())).toEqual([]);
  });

  it.each<[string, (d: DistributionDocument) => void, string[]]>([
    [
      'version',
      (d) => {
        d.version = '1.0.1';
      },
      ['version changed: 1.0.0 → 1.0.1'],
    ],
    [
      'assembler',
      (d) => {
        d.assembler = b;
      },
      [`assembler changed: ${a.kid} → ${b.kid}`],
    ],
    [
      'publishers',
      (d) => {
        d.publishers = [b];
      },
      [`publisher added: ${b.kid}`, `publisher removed: ${a.kid}`],
    ],
    [
      'added plugin',
      (d) => {
        d.plugins.push(plugin('acme.three', 'c', { grants: [] }));
      },
      [`plugin added: acme.three@1.0.0 (plugins/acme.three.wasm, sha256 ${'c'.repeat(12)}…, grants (none))`],
    ],
    [
      'swapped file',
      (d) => {
        d.plugins[0]!.sha256 = 'f'.repeat(64);
      },
      [`plugin swapped: acme.one sha256 ${'a'.repeat(12)}… → ${'f'.repeat(12)}…`],
    ],
    [
      'narrowed grant',
      (d) => {
        d.plugins[1]!.grants = ['kv:x/'];
      },
      ['grant narrowed on acme.two: kv → kv:x/'],
    ],
    [
      'changed grant',
      (d) => {
        d.plugins[1]!.grants = ['crypto'];
      },
      ['grants changed on acme.two: kv → crypto'],
    ],
    [
      'isolation',
      (d) => {
        d.plugins[0]!.isolation = 'worker';
      },
      ['isolation changed on acme.one: inline → worker'],
    ],
    [
      'preempt',
      (d) => {
        d.plugins[0]!.preempt = false;
      },
      ['preempt changed on acme.one: default → false'],
    ],
    [
      'config',
      (d) => {
        d.plugins[0]!.config = { limit: 3 };
      },
      ['config changed on acme.one: {} → {"limit":3}'],
    ],
    [
      'load order',
      (d) => {
        d.plugins.reverse();
      },
      ['plugin load order changed: [acme.one, acme.two] → [acme.two, acme.one]'],
    ],
    [
      'pipeline',
      (d) => {
        d.pipeline.observe = ['acme.two'];
      },
      ['pipeline changed: observe [] → [acme.two]'],
    ],
    [
      'budget',
      (d) => {
        d.budgets.cpuPercent = 50;
      },
      ['budget changed: cpuPercent 27 → 50'],
    ],
  ])('names a change of %s', (_what, edit, expected) => {
    expect(after(edit)).toEqual(expected);
  });
});
