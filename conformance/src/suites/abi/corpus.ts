/**
 * ABI case: the host that will run the subject holds against the hostile-module corpus of
 * `@mcp0/abi` (abi/corpus/hostile). Each corpus module is assembled, signed with a key made for
 * the run, and loaded beside the subject in one kernel; every load and call must end as the entry
 * says, and after each entry the subject must still answer its version marker. It checks the
 * kernel a plugin runs on, not the plugin: a plugin is only as safe as the host beside it.
 */
import { GUEST_EXPORTS, Mcp0Error, appendManifest, generateKeyPair, hostileCorpus, parseGrant, signModule, type Expected, type HostileEntry } from '@mcp0/abi';
import type { Kernel, Tier } from '@mcp0/kernel';
import { CaseFailure, check, type Case } from '../../runner/case.js';
import { bench, describeOutcome, invoke, outcome, type Outcome } from '../harness.js';
import type { AbiContext } from './context.js';

/** WebAssembly text to binary, with binaryen (loaded only when this case runs: it is large). */
async function assemble(wat: string): Promise<Uint8Array> {
  const { default: binaryen } = await import('binaryen');
  const mod = binaryen.parseText(wat);
  try {
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** True when the outcome is what the entry expects. */
function matches(o: Outcome, expected: Expected): boolean {
  if (expected === 'ok') return o.ok;
  return !o.ok && o.error instanceof Mcp0Error && (expected as string[]).includes(o.error.code);
}

function describeExpected(expected: Expected): string {
  return expected === 'ok' ? 'an output' : `a typed error (${expected.join(' or ')})`;
}

/** Load one entry into `kernel` and make its calls; fails naming the entry and the step. */
async function runEntry(kernel: Kernel, entry: HostileEntry, tier: Tier, publisher: ReturnType<typeof generateKeyPair>): Promise<void> {
  const name = `corpus.${entry.name}`;
  const bytes = signModule(
    appendManifest(await assemble(entry.wat), { name, version: '1.0.0', abi: '^1.0', kind: 'plugin', exports: [], ...entry.manifest }),
    publisher,
  );
  const load = await outcome(async () => {
    await kernel.load(bytes, { isolation: tier, trust: [publisher.publicKey], grants: entry.grants.map(parseGrant), ...entry.limits });
    return new Uint8Array(0);
  });
  check(matches(load, entry.load), `${entry.name} (${tier}): expected the load to give ${describeExpected(entry.load)}, got ${describeOutcome(load)}`, {
    entry: entry.name,
    tier,
  });
  if (!load.ok) return;
  const module = kernel.module(name);
  for (const call of entry.calls) {
    for (let i = 0; i < call.times; i++) {
      const o = await outcome(() => invoke(module, call.export, call.input));
      if (!matches(o, call.expect)) {
        throw new CaseFailure(
          `${entry.name} (${tier}): expected ${call.export}${call.times > 1 ? ` (call ${i + 1} of ${call.times})` : ''} to give ${describeExpected(call.expect)}, got ${describeOutcome(o)}`,
          { entry: entry.name, tier, export: call.export },
        );
      }
    }
  }
  await kernel.unload(name);
}

/**
 * The corpus, in the tier given.
 * @example
 * const c = corpusCase('worker', true)
 */
export function corpusCase(tier: Tier, slow = false): Case<AbiContext> {
  return {
    name: `hostile corpus held beside it (${tier})`,
    slow,
    async run({ subject }) {
      const publisher = generateKeyPair();
      const b = await bench(subject, { isolation: tier });
      try {
        for (const entry of hostileCorpus()) {
          await runEntry(b.kernel, entry, tier, publisher);
          const alive = await outcome(() => invoke(b.module, GUEST_EXPORTS.marker, new Uint8Array(0)));
          check(alive.ok, `after ${entry.name} (${tier}): expected ${subject.name} to keep serving, got ${describeOutcome(alive)}`, {
            entry: entry.name,
            tier,
          });
        }
      } finally {
        await b.close();
      }
    },
  };
}
