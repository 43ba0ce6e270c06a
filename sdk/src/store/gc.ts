/**
 * Garbage collection of a store's blocks: the storage plugin marks, the host sweeps.
 *
 * The plugin knows its tree and commit format, so its `gc` export does the retention (dropping
 * history past the newest `keep` commits) and returns, for one agent, every block its head reaches.
 * Deleting stays on the host: ABI v1 gives guests no way to list or delete blocks, and a guest that
 * could delete from a block space shared by every module would be a hazard. The host lists the
 * agents (refs `head/<agent>` of the plugin's namespace), marks each through the plugin, then
 * deletes the stored blocks nobody marked.
 *
 * Safety against concurrent writers is a grace period, as in git's gc: only blocks last written
 * before `start − graceMs` are deleted, where `start` is taken before anything is marked, and the
 * store re-checks that time in the same atomic step as each delete. A writer puts (or re-puts,
 * which freshens) every block of a change before it moves the head by compare-and-swap, and
 * `restore` re-puts the blocks of the restored tree that the head does not share. So a block that
 * a head reaches after the marking began is either marked or was written after `start`, as long
 * as no write takes longer than `graceMs` from its first put to its ref_cas (the plugin's calls are
 * limited to seconds; the default grace is an hour).
 */
import { CallError, UsageError } from '@mcp0/abi';
import { hex } from './codec.js';
import type { Store } from './types.js';

/**
 * Defaults of `collectGarbage`.
 * @example
 * await collectGarbage({ store, call, graceMs: GC_DEFAULTS.graceMs * 24 })
 */
export const GC_DEFAULTS = {
  /** The storage plugin's module name, which is also its ref namespace. */
  namespace: 'mcp0.storage',
  /** Blocks written less than this long before the gc began are kept even when unmarked. */
  graceMs: 60 * 60 * 1000,
  /** Rows per listing page (agents, marked ids, stored blocks). */
  page: 1000,
} as const;

/**
 * What `collectGarbage` needs.
 * @example
 * const options: GcOptions = { store, call: (name, input) => kernel.callValue('mcp0.storage', name, input), keep: 10 }
 */
export interface GcOptions {
  /** The store whose blocks are swept (the one serving the plugin's `blocks` capability). */
  store: Store;
  /** Calls an export of the storage plugin and answers its decoded output. */
  call: (exportName: string, input: Record<string, unknown>) => Promise<unknown>;
  /** The plugin's module name (its ref namespace); default `mcp0.storage`. */
  namespace?: string;
  /** Commits kept per agent, newest first (≥ 1); default all: gc then frees only blocks no commit reaches. */
  keep?: number;
  /** Grace period in ms (≥ 0); default one hour. 0 is only safe when nothing writes during the gc. */
  graceMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * What one gc did.
 * @example
 * const { swept, sweptBytes } = await collectGarbage({ store, call })
 */
export interface GcReport {
  /** Agents marked. */
  agents: number;
  /** Agents whose history was cut to `keep` commits by this run. */
  dropped: number;
  /** Commits kept across agents. */
  commits: number;
  /** Distinct blocks marked live. */
  live: number;
  /** Blocks the store held when the sweep listed them. */
  scanned: number;
  /** Blocks deleted. */
  swept: number;
  /** Unmarked blocks kept because they were written within the grace period. */
  young: number;
  /** Blocks last written before this time (ms since the epoch) were eligible. */
  cutoff: number;
}

interface MarkPage {
  live: Uint8Array;
  cursor: Uint8Array | null;
  commits: number;
  dropped: boolean;
}

/**
 * Drops history past `keep` commits per agent (when given), marks every block each agent's head
 * reaches, and deletes the other blocks written before the grace period. A failure while marking
 * (a missing or corrupt block, an unreachable store) throws before anything is deleted.
 * @example
 * const report = await collectGarbage({
 *   store,
 *   call: (name, input) => kernel.callValue('mcp0.storage', name, input as never),
 *   keep: 20,
 * })
 * console.log(`${report.swept} blocks freed, ${report.live} live`)
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const { store, call } = options;
  const namespace = options.namespace ?? GC_DEFAULTS.namespace;
  const graceMs = options.graceMs ?? GC_DEFAULTS.graceMs;
  const now = options.now ?? Date.now;
  if (options.keep !== undefined && (!Number.isSafeInteger(options.keep) || options.keep < 1)) {
    throw new UsageError('EUSAGE', `gc: keep must be a whole number of commits ≥ 1, got ${String(options.keep)}`, { keep: options.keep });
  }
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new UsageError('EUSAGE', `gc: graceMs must be a finite number ≥ 0, got ${String(graceMs)}`, { graceMs });
  }
  if (typeof call !== 'function') throw new UsageError('EUSAGE', 'gc: call must be a function that calls the storage plugin');
  // Taken before any head is read: see the header for why this bounds every write in flight.
  const cutoff = now() - graceMs;
  const report: GcReport = { agents: 0, dropped: 0, commits: 0, live: 0, scanned: 0, swept: 0, young: 0, cutoff };

  const live = new Set<string>();
  for (let after: string | undefined; ; ) {
    const names = await store.listRefs(namespace, 'head/', GC_DEFAULTS.page, after);
    for (const name of names) {
      const agent = name.slice('head/'.length);
      report.agents++;
      let cursor: Uint8Array | null = null;
      do {
        const input: Record<string, unknown> = { agent, after: cursor };
        if (options.keep !== undefined) input.keep = options.keep;
        const page = markPage(await call('gc', input), agent);
        for (let o = 0; o < page.live.length; o += 32) live.add(hex(page.live.subarray(o, o + 32)));
        if (cursor === null) {
          report.commits += page.commits;
          if (page.dropped) report.dropped++;
        }
        cursor = page.cursor;
      } while (cursor !== null);
    }
    if (names.length < GC_DEFAULTS.page) break;
    after = names.at(-1);
  }
  report.live = live.size;

  for (let after: Uint8Array | undefined; ; ) {
    const rows = await store.listBlocks(after, GC_DEFAULTS.page);
    report.scanned += rows.length;
    const doomed: Uint8Array[] = [];
    for (const { id, writtenAt } of rows) {
      if (live.has(hex(id))) continue;
      if (writtenAt < cutoff) doomed.push(id);
      else report.young++;
    }
    if (doomed.length > 0) {
      const n = await store.deleteBlocks(doomed, { writtenBefore: cutoff });
      report.swept += n;
      report.young += doomed.length - n; // re-put since the listing: kept
    }
    if (rows.length < GC_DEFAULTS.page) break;
    after = rows.at(-1)!.id;
  }
  return report;
}

/** The plugin's answer, checked: a malformed one stops the gc before any delete. */
function markPage(out: unknown, agent: string): MarkPage {
  const o = out as Partial<MarkPage> | null;
  const ok =
    o !== null && typeof o === 'object' && o.live instanceof Uint8Array && o.live.length % 32 === 0 &&
    (o.cursor === null || (o.cursor instanceof Uint8Array && o.cursor.length === 32)) &&
    typeof o.commits === 'number' && typeof o.dropped === 'boolean';
  if (!ok) throw new CallError('EINTERNAL', `gc: the storage plugin's mark of agent "${agent}" is malformed: expected {live: bytes (32 × n), cursor, commits, dropped}`, { agent });
  return o as MarkPage;
}
