/**
 * ABI case: determinism. The same calls, in the same order, in two fresh kernels (fresh stores,
 * the same fixed clock and seeded randomness) give identical output bytes or errors, identical kv
 * writes and identical stored blocks and refs. A plugin whose effects depend on anything else
 * (a wall clock read around the host, addresses, iteration order of a hash map) breaks replay.
 */
import { Mcp0Error } from '@mcp0/abi';
import { check, type Case } from '../../runner/case.js';
import { bench, callableExports, digest, invoke, outcome, probesFor, type Bench } from '../harness.js';
import type { PluginSubject } from '../../runner/subject.js';
import type { AbiContext } from './context.js';

/** One run's observable record. */
interface Record {
  calls: string[];
  writes: string[];
  kv: string[];
  blocks: string[];
  refs: string[];
}

/** Every export with its probes, in order, in a fresh bench. */
async function record(subject: PluginSubject): Promise<Record> {
  const b: Bench = await bench(subject);
  try {
    const calls: string[] = [];
    for (const name of callableExports(subject.manifest)) {
      for (const [i, input] of probesFor(name).entries()) {
        const o = await outcome(() => invoke(b.module, name, input));
        calls.push(`${name} probe ${i}: ${o.ok ? `ok ${digest(o.output)}` : o.error instanceof Mcp0Error ? `${o.error.code} ${o.error.message}` : String(o.error)}`);
      }
    }
    const blocks = (await b.store.listBlocks(undefined, 100_000)).map((e) => digest(e.id));
    const refNames = await b.store.listRefs(b.module.name, '', 100_000);
    const refs: string[] = [];
    for (const n of refNames) {
      const r = await b.store.blocks.refGet(b.module.name, n);
      refs.push(`${n} ${r ? `${digest(r.root)}@${r.version}` : 'absent'}`);
    }
    return { calls, writes: b.kv.writes, kv: b.kv.contents(), blocks, refs };
  } finally {
    await b.close();
  }
}

/** The first index where two lists differ, or -1. */
function firstDifference(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/**
 * Two fresh kernels, the same calls: the same outputs and the same effects.
 * @example
 * await runSuite({ ...abiSuite, cases: [determinismCase] }, subject)
 */
export const determinismCase: Case<AbiContext> = {
  name: 'determinism: same calls in fresh kernels give the same bytes and kv writes',
  async run({ subject }) {
    const one = await record(subject);
    const two = await record(subject);
    for (const part of ['calls', 'writes', 'kv', 'blocks', 'refs'] as const) {
      const i = firstDifference(one[part], two[part]);
      check(i < 0, `determinism (${part}): expected identical ${part} in two fresh kernels, got at #${i} "${one[part][i] ?? '(nothing)'}" then "${two[part][i] ?? '(nothing)'}"`, { part, index: i });
    }
  },
};
