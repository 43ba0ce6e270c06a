/**
 * What the storage role's cases share: the context, a fresh plugin per case, and readers that
 * compare what the plugin holds with a model, naming the first difference.
 */
import type { BlockProvider } from '@mcp0/kernel';
import type { MemoryStore } from '@mcp0/sdk';
import { CaseFailure, check } from '../../../runner/case.js';
import type { PluginSubject } from '../../../runner/subject.js';
import { bench, type Bench } from '../../harness.js';
import { brief, caller, sameBytes, type Caller } from '../call.js';

/**
 * The storage suite's context: the subject.
 * @example
 * const c: Case<StorageContext> = { name: 'x', run: ({ subject }) => withPlugin(subject, async (call) => {}) }
 */
export interface StorageContext {
  subject: PluginSubject;
}

/**
 * What the writing exports answer: the new tree root.
 * @example
 * const { root }: Root = await call('put', { agent, key, value })
 */
export type Root = { root: Uint8Array };
/**
 * One page of `list`.
 * @example
 * const page: Page = await call('list', { agent, prefix, limit, cursor })
 */
export type Page = { entries: [string, Uint8Array][]; cursor: string | null };

const utf8 = new TextEncoder();
/**
 * UTF-8 bytes of a text.
 * @example
 * bytes("v") // Uint8Array [118]
 */
export const bytes = (s: string): Uint8Array => utf8.encode(s);
/**
 * Lower-case hex of bytes.
 * @example
 * hexOf(Uint8Array.of(255)) // "ff"
 */
export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Runs `work` against a fresh bench of the subject, closing it (and `store`) afterwards.
 * @example
 * await withPlugin(subject, async (call) => { await call("put", { agent, key, value }) })
 */
export async function withPlugin<T>(
  subject: PluginSubject,
  work: (call: Caller<'storage'>, b: Bench) => Promise<T>,
  blocks?: BlockProvider,
  store?: MemoryStore,
): Promise<T> {
  const b = await bench(subject, blocks ? { providers: { blocks } } : {});
  try {
    return await work(caller(b.kernel, b.module.name, 'storage'), b);
  } finally {
    await b.close();
    await store?.close();
  }
}

/**
 * Every entry of an agent, page by page.
 * @example
 * const entries = await listAll(call, "agent-1", "/memory/", 10)
 */
export async function listAll(call: Caller<'storage'>, agent: string, prefix: string, limit: number): Promise<[string, Uint8Array][]> {
  const all: [string, Uint8Array][] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 10_000; pages++) {
    const page: Page = await call('list', { agent, prefix, limit, cursor });
    check(Array.isArray(page?.entries), `list: expected {entries, cursor}, got ${brief(page)}`);
    check(page.entries.length <= limit, `list: expected at most ${limit} entries per page, got ${page.entries.length}`);
    all.push(...page.entries);
    if (page.cursor === null) return all;
    check(typeof page.cursor === 'string', `list: expected cursor text or null, got ${brief(page.cursor)}`);
    cursor = page.cursor;
  }
  throw new CaseFailure('list: expected the pages to end, got a cursor after 10,000 pages');
}

/**
 * Fails unless `get {agent, key}` gives exactly `truth` (bytes, or null for absent), naming what came.
 * @example
 * await expectGet(call, "a", "/x", bytes("1"), "after restoring snapshot 1")
 */
export async function expectGet(call: Caller<'storage'>, agent: string, key: string, truth: Uint8Array | null, what: string): Promise<void> {
  const got = await call('get', { agent, key });
  const ok = truth === null ? got === null : sameBytes(got, truth);
  check(
    ok,
    `get ${key} ${what}: expected ${truth === null ? 'null' : `the ${truth.length} bytes ${brief(new TextDecoder().decode(truth.subarray(0, 24)))}`}, got ${got instanceof Uint8Array ? `${got.length} bytes ${brief(new TextDecoder().decode(got.subarray(0, 24)))}` : brief(got)}`,
  );
}

/**
 * Byte order of UTF-8 keys, as the contract sorts.
 * @example
 * keys.sort(byBytes)
 */
export const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Fails unless `got` (a list of entries) equals the model exactly, naming the first difference.
 * @example
 * sameEntries("list after apply", await listAll(call, a, "", 1000), model)
 */
export function sameEntries(what: string, got: [string, Uint8Array][], model: Map<string, Uint8Array>): void {
  const want = [...model].sort(([a], [b]) => byBytes(a, b));
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || g[0] !== w[0] || !sameBytes(g[1], w[1])) {
      throw new CaseFailure(
        `${what}: expected entry #${i} to be ${w ? `${JSON.stringify(w[0])} (${w[1].length} bytes)` : 'the end'}, got ${g ? `${JSON.stringify(g[0])} (${g[1]?.length} bytes)` : 'the end'}`,
        { index: i },
      );
    }
  }
}
