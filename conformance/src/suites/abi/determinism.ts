/**
 * ABI case: determinism, as replay needs it. The same operations (same ids, same logical times, same
 * inputs), in the same order, in two fresh kernels (fresh stores) whose system clocks and random
 * sources differ, give identical output bytes or errors, identical kv writes and identical stored
 * blocks and refs. Inside an operation the ABI fixes time and randomness (ABI.md §4), so any
 * difference is the plugin depending on something else.
 */
import { Mcp0Error } from '@mcp0/abi';
import type { LoadedModule } from '@mcp0/kernel';
import { check, type Case } from '../../runner/case.js';
import { BENCH_TIME, bench, callableExports, digest, outcome, probesFor, seededRandom, type Bench } from '../harness.js';
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

/** Runs one operation: a service export through the pipeline, a hook as the pipeline calls it. */
async function operation(b: Bench, name: string, input: Uint8Array, id: string): Promise<Uint8Array> {
  if (!name.startsWith('mcp0_')) return (await b.kernel.execute({ agent: b.module.name, intent: name, input, id, time: BENCH_TIME })).output;
  const op = { id, agent: b.module.name, intent: name, time: BENCH_TIME };
  const m: LoadedModule = b.module;
  return (await m.invoke(name, input, { op, chain: [], randoms: new Map() })).output;
}

/** Every export with its probes, in order, as operations, in a fresh bench whose host differs by `host`. */
async function record(subject: PluginSubject, host: number): Promise<Record> {
  const b: Bench = await bench(subject, { providers: { clock: { now: () => BENCH_TIME + 7_777 * host }, random: seededRandom(`host ${host}`) } });
  try {
    const calls: string[] = [];
    for (const name of callableExports(subject.manifest)) {
      for (const [i, input] of probesFor(name).entries()) {
        const o = await outcome(() => operation(b, name, input, `determinism-${name}-${i}`));
        calls.push(
          `${name} probe ${i}: ${o.ok ? `ok ${digest(o.output)}` : o.error instanceof Mcp0Error ? `${o.error.code} ${o.error.message}` : String(o.error)}`,
        );
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
 * Two fresh kernels, the same operations: the same outputs and the same effects.
 * @example
 * await runSuite({ ...abiSuite, cases: [determinismCase] }, subject)
 */
export const determinismCase: Case<AbiContext> = {
  name: 'determinism: replayed operations give the same bytes and kv writes',
  async run({ subject }) {
    const one = await record(subject, 1);
    const two = await record(subject, 2);
    for (const part of ['calls', 'writes', 'kv', 'blocks', 'refs'] as const) {
      const i = firstDifference(one[part], two[part]);
      check(
        i < 0,
        `determinism (${part}): expected identical ${part} when the same operations run in two fresh kernels, got at #${i} "${one[part][i] ?? '(nothing)'}" then "${two[part][i] ?? '(nothing)'}"`,
        { part, index: i },
      );
    }
  },
};
