/**
 * Garbage collection of a store's blocks: the storage plugin marks, the host sweeps.
 *
 * The plugin knows its tree and commit format, so its `gc` export does the retention (dropping
 * history past the newest `keep` commits) and returns, for one agent, every block its head reaches.
 * Deleting stays on the host: ABI v1 gives guests no way to list or delete blocks, and a guest that
 * could delete from a block space shared by every module would be a hazard. The host lists the
 * agents (refs `head/<agent>` of the plugin's namespace), marks each through the plugin, then marks
 * what the node keeps in the same block space (../node/gc-records.ts: every agent's signed module
 * and the trees of its recorded snapshots), then deletes the stored blocks nobody marked.
 *
 * Safety against concurrent writers is a grace period, as in git's gc: only blocks last written
 * before `start − graceMs` are deleted, where `start` is taken before anything is marked, and the
 * store re-checks that time in the same atomic step as each delete. A writer puts (or re-puts,
 * which freshens) every block of a change before it moves the head by compare-and-swap, and
 * `restore` re-puts the blocks of the restored tree that the head does not share. So a block that
 * a head reaches after the marking began is either marked or was written after `start`, as long
 * as no write takes longer than `graceMs` from its first put to its ref_cas (the plugin's calls are
 * limited to seconds; the default grace is an hour). The node's records are read after every head
 * is marked: a snapshot recorded before that read is walked, one recorded after it names a tree
 * some head reached after the marking began (a snapshot is the head's root when it is taken), and
 * a spawn re-puts its module's blocks before it writes the record.
 *
 * A mark that fails (a block missing under an agent's head, a plugin that answers nonsense) makes
 * the whole sweep stand down: any block nobody marked could be that agent's, so nothing is
 * deleted. Every other agent is still marked (and its retention applied), and the error names each
 * agent that failed, with the report of what was marked. A block missing under a recorded snapshot
 * is different: the snapshot is already broken, the host walks it itself and marks all that is left
 * of it, so it is reported (`damaged`) and the sweep runs.
 */
import { CallError, Mcp0Error, UsageError, type ErrorCode } from '@mcp0/abi';
import { EMPTY_TREE_ID, readBlock, type BlockKind } from '../archive/format.js';
import { markNodeRecords } from '../node/gc-records.js';
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
  /** The most roots the plugin's `history` export answers (a dry run with `keep` reads the kept roots through it). */
  historyLimit: 1000,
} as const;

/**
 * What `collectGarbage` needs.
 * @example
 * const options: GcOptions = { store, call: (name, input) => kernel.callValue('mcp0.storage', name, input), keep: 10 }
 */
export interface GcOptions {
  /**
   * The store whose blocks are swept (the one serving the plugin's `blocks` capability). Its kv
   * is read for the node's records (namespace `mcp0.node`), whose modules and snapshots are kept.
   */
  store: Store;
  /** Calls an export of the storage plugin and answers its decoded output. */
  call: (exportName: string, input: Record<string, unknown>) => Promise<unknown>;
  /** The plugin's module name (its ref namespace); default `mcp0.storage`. */
  namespace?: string;
  /** Commits kept per agent, newest first (≥ 1); default all: gc then frees only blocks no commit reaches. */
  keep?: number;
  /** Grace period in ms (≥ 0); default one hour. 0 is only safe when nothing writes during the gc. */
  graceMs?: number;
  /**
   * Mark and count, delete nothing and drop no history: `swept` is what a run would delete. With
   * `keep`, the kept trees are read through the plugin's `history` and walked by the host (exact up
   * to a keep of 999; above that the count is of a run without `keep`, and `notes` says so).
   */
  dryRun?: boolean;
  /** Called as the gc goes (after each agent, after the node's records, after each page of the sweep). */
  onProgress?: (progress: GcProgress) => void;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Where a gc is: passed to `onProgress`.
 * @example
 * onProgress: (p) => console.error(`${p.phase}: ${p.agents} agents, ${p.live} live, ${p.scanned} listed, ${p.swept} swept`)
 */
export interface GcProgress {
  /** `heads`: marking agents through the plugin; `records`: marking the node's records; `sweep`: listing and deleting. */
  phase: 'heads' | 'records' | 'sweep';
  agents: number;
  live: number;
  scanned: number;
  swept: number;
}

/**
 * One agent's mark.
 * @example
 * for (const a of report.perAgent) console.log(a.agent, a.commits, a.blocks, a.dropped ? '(history cut)' : '')
 */
export interface GcAgentMark {
  agent: string;
  /** Commits kept. */
  commits: number;
  /** Blocks its head (and kept history) reaches. */
  blocks: number;
  /** True when this run cut its history to `keep` commits (with dryRun: would cut). */
  dropped: boolean;
}

/**
 * A mark that failed: the sweep did not run.
 * @example
 * for (const f of report.failed) console.error(`${f.agent}: ${f.code} ${f.message}`)
 */
export interface GcFailure {
  agent: string;
  code: ErrorCode;
  message: string;
}

/**
 * A block the node's records need that is missing or unreadable (a recorded snapshot or a module
 * already broken): reported; what is left of it is marked and the sweep runs.
 * @example
 * for (const d of report.damaged) console.warn(`${d.what}: block ${d.block}: ${d.message}`)
 */
export interface GcDamage {
  /** What needed the block: `agent <id> module`, `agent <id> snapshot <root>`, `record <key>`. */
  what: string;
  /** The agent id, when one is known. */
  agent?: string;
  block: string;
  message: string;
}

/**
 * A node record that is not a well-formed agent record: every block id it could name was kept.
 * @example
 * for (const m of report.malformed) console.warn(`${m.key}: ${m.reason}`)
 */
export interface GcMalformed {
  key: string;
  reason: string;
  /** Block ids found in it, and kept. */
  ids: number;
}

/**
 * What one gc did.
 * @example
 * const { swept, live, young } = await collectGarbage({ store, call })
 */
export interface GcReport {
  /** Agents marked. */
  agents: number;
  /** Agents whose history was cut to `keep` commits by this run (with dryRun: would be). */
  dropped: number;
  /** Commits kept across agents. */
  commits: number;
  /** Distinct blocks marked live. */
  live: number;
  /** Of `live`, blocks no head reached, kept for the node's records (modules, recorded snapshots). */
  pinned: number;
  /** Node records read: agents whose module and snapshots were marked. */
  records: number;
  /** Blocks the store held when the sweep listed them. */
  scanned: number;
  /** Blocks deleted (with dryRun: that would be deleted). */
  swept: number;
  /** Unmarked blocks kept because they were written within the grace period. */
  young: number;
  /** Blocks last written before this time (ms since the epoch) were eligible. */
  cutoff: number;
  /** True when nothing was deleted on purpose. */
  dryRun: boolean;
  /** Each agent's mark, in the order marked. */
  perAgent: GcAgentMark[];
  /** Marks that failed. Non-empty only in the report a failed gc carries (its error's `details.report`). */
  failed: GcFailure[];
  /** Blocks of the node's records found missing or unreadable. */
  damaged: GcDamage[];
  /** Node records that are malformed (all they could name was kept). */
  malformed: GcMalformed[];
  /** Anything else worth saying (e.g. a dry run's approximation). */
  notes: string[];
}

/**
 * What a marker of the node's records gets: the marked set, and a way to walk a tree into it.
 * @example
 * await markNodeRecords(store, marking)
 */
export interface GcMarking {
  /** Marks one block (a module chunk); true when it was not marked yet. */
  block(id: Uint8Array): boolean;
  /** True when the block is marked. */
  has(id: Uint8Array): boolean;
  /** Marks the tree at `root` and what it references; a missing or unreadable block is reported as `what`, the rest is marked. */
  tree(root: Uint8Array, what: string, agent?: string): Promise<void>;
  /**
   * Marks a block that something might name (an id found in a malformed record) and, when it reads
   * as a tree node, its tree; nothing is reported (it may be a module chunk, or nothing at all).
   */
  pin(id: Uint8Array): Promise<void>;
  /** Reports a block the records need that is missing or unreadable. */
  damaged(d: GcDamage): void;
  /** Reports a malformed record. */
  malformed(m: GcMalformed): void;
  /** Counts a record whose blocks were marked. */
  record(): void;
}

interface MarkPage {
  live: Uint8Array;
  cursor: Uint8Array | null;
  commits: number;
  dropped: boolean;
}

/**
 * Drops history past `keep` commits per agent (when given), marks every block each agent's head
 * reaches and every block the node's records need (agents' modules, recorded snapshots), and deletes
 * the other blocks written before the grace period. A failed mark throws after every agent is
 * marked, deleting nothing: the error (`CallError`, the failure's code, or EINTERNAL for several)
 * names each agent, and `details.report` is the report with `failed` filled in. An unreachable store
 * throws as it happens, deleting nothing.
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
  const dryRun = options.dryRun === true;
  const keep = options.keep;
  if (keep !== undefined && (!Number.isSafeInteger(keep) || keep < 1)) {
    throw new UsageError('EUSAGE', `gc: keep must be a whole number of commits ≥ 1, got ${String(keep)}`, { keep });
  }
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new UsageError('EUSAGE', `gc: graceMs must be a finite number ≥ 0, got ${String(graceMs)}`, { graceMs });
  }
  if (typeof call !== 'function') throw new UsageError('EUSAGE', 'gc: call must be a function that calls the storage plugin');
  // Taken before any head is read: see the header for why this bounds every write in flight.
  const cutoff = now() - graceMs;
  const report: GcReport = {
    agents: 0,
    dropped: 0,
    commits: 0,
    live: 0,
    pinned: 0,
    records: 0,
    scanned: 0,
    swept: 0,
    young: 0,
    cutoff,
    dryRun,
    perAgent: [],
    failed: [],
    damaged: [],
    malformed: [],
    notes: [],
  };
  const live = new Set<string>();
  const progress = (phase: GcProgress['phase']) =>
    options.onProgress?.({ phase, agents: report.agents, live: live.size, scanned: report.scanned, swept: report.swept });

  // 1. Every agent's head, through the plugin (with its retention).
  for (let after: string | undefined; ; ) {
    const names = await store.listRefs(namespace, 'head/', GC_DEFAULTS.page, after);
    for (const name of names) {
      const agent = name.slice('head/'.length);
      report.agents++;
      try {
        const mark = dryRun && keep !== undefined ? await dryMark(agent, keep, options, live, report) : await markHead(agent, keep, call, live);
        report.perAgent.push(mark);
        report.commits += mark.commits;
        if (mark.dropped) report.dropped++;
      } catch (e) {
        report.failed.push({ agent, code: e instanceof Mcp0Error ? e.code : 'EINTERNAL', message: (e as Error).message });
      }
      progress('heads');
    }
    if (names.length < GC_DEFAULTS.page) break;
    after = names.at(-1);
  }
  const byHeads = live.size;

  // 2. What the node keeps in the block space: read after the heads, see the header.
  await markNodeRecords(store, marking(store, live, report));
  report.pinned = live.size - byHeads;
  report.live = live.size;
  progress('records');

  if (report.failed.length > 0) {
    const codes = new Set(report.failed.map((f) => f.code));
    const list = report.failed.map((f) => `agent ${JSON.stringify(f.agent)}: ${f.code}: ${f.message}`).join('; ');
    throw new CallError(
      codes.size === 1 ? report.failed[0]!.code : 'EINTERNAL',
      `gc: nothing ${dryRun ? 'counted' : 'swept'}: the mark of ${report.failed.length} agent(s) failed (${list}). Any unmarked block could be theirs, so none is deleted; the other ${report.agents - report.failed.length} agent(s) were marked${keep !== undefined && !dryRun ? ' and their history cut' : ''}. Repair or re-import those agents' state (a keep that drops the history past a missing commit repairs the chain), then run gc again`,
      { failed: report.failed, report },
    );
  }

  // 3. The sweep.
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
      if (dryRun) report.swept += doomed.length;
      else {
        const n = await store.deleteBlocks(doomed, { writtenBefore: cutoff });
        report.swept += n;
        report.young += doomed.length - n; // re-put since the listing: kept
      }
    }
    progress('sweep');
    if (rows.length < GC_DEFAULTS.page) break;
    after = rows.at(-1)!.id;
  }
  return report;
}

/** One agent's mark through the plugin, paged. */
async function markHead(agent: string, keep: number | undefined, call: GcOptions['call'], live: Set<string>): Promise<GcAgentMark> {
  const mark: GcAgentMark = { agent, commits: 0, blocks: 0, dropped: false };
  let cursor: Uint8Array | null = null;
  do {
    const input: Record<string, unknown> = { agent, after: cursor };
    // Retention happens on the first page only: later pages walk the head it left.
    if (keep !== undefined && cursor === null) input.keep = keep;
    const page = markPage(await call('gc', input), agent);
    for (let o = 0; o < page.live.length; o += 32) live.add(hex(page.live.subarray(o, o + 32)));
    mark.blocks += page.live.length / 32;
    if (cursor === null) {
      mark.commits = page.commits;
      mark.dropped = page.dropped;
    }
    cursor = page.cursor;
  } while (cursor !== null);
  return mark;
}

/**
 * A dry run's mark with `keep`: what the plugin would keep, without cutting anything. An agent
 * with at most `keep` commits loses nothing, so its plain mark is exact. Otherwise the newest
 * `keep` roots (the plugin's `history`) are walked host-side; their commit blocks are left
 * unmarked, as a real run rewrites them (the rewritten chain is written now, so it would be young).
 */
async function dryMark(agent: string, keep: number, options: GcOptions, live: Set<string>, report: GcReport): Promise<GcAgentMark> {
  if (keep < GC_DEFAULTS.historyLimit) {
    const h = (await options.call('history', { agent, limit: keep + 1 })) as { roots?: unknown } | null;
    const roots = h?.roots;
    if (!Array.isArray(roots) || !roots.every((r) => r instanceof Uint8Array && r.length === 32)) {
      throw new CallError('EINTERNAL', `gc: the storage plugin's history of agent "${agent}" is malformed: expected {roots: [bytes(32), ...]}`, { agent });
    }
    if (roots.length <= keep) return markHead(agent, undefined, options.call, live);
    const mark: GcAgentMark = { agent, commits: keep, blocks: 0, dropped: true };
    const seen = new Set<string>();
    for (const root of roots.slice(0, keep) as Uint8Array[]) {
      await walkTree(options.store, root, seen, (block, message) => {
        throw new CallError('EINTERNAL', `block ${block} of the tree ${hex(root)} is unreadable: ${message}`, { agent, block });
      });
    }
    for (const id of seen) live.add(id);
    mark.blocks = seen.size;
    return mark;
  }
  const mark = await markHead(agent, undefined, options.call, live);
  if (mark.commits > keep) {
    const note = `dry run: agents with more than ${keep} commits count as if their history were kept (a keep of ${GC_DEFAULTS.historyLimit} or more is not simulated); a real run frees more`;
    if (!report.notes.includes(note)) report.notes.push(note);
  }
  return mark;
}

/**
 * Walks the tree at `root` into `seen` (hex ids) with the storage plugin's format reader, skipping
 * subtrees already in `seen` (and every block in `skip`, whose subtrees are marked whole). A block
 * that is missing or does not read as what references it goes to `problem`; the walk goes on.
 */
async function walkTree(
  store: Pick<Store, 'blocks'>,
  root: Uint8Array,
  seen: Set<string>,
  problem: (block: string, message: string) => void,
  skip?: Set<string>,
  expect: BlockKind = { kind: 'node', level: null },
): Promise<void> {
  const stack: { id: Uint8Array; expect: BlockKind }[] = [{ id: root, expect }];
  const empty = hex(EMPTY_TREE_ID);
  while (stack.length > 0) {
    const { id, expect } = stack.pop()!;
    const key = hex(id);
    if (seen.has(key) || skip?.has(key)) continue;
    seen.add(key);
    const bytes = await store.blocks.get(id);
    if (bytes === undefined) {
      if (key !== empty) problem(key, 'missing from the store');
      continue;
    }
    try {
      for (const ref of readBlock(bytes, id, expect, false)) stack.push(ref);
    } catch (e) {
      problem(key, (e as Error).message);
    }
  }
}

/** The marking handed to the node's records. */
function marking(store: Store, live: Set<string>, report: GcReport): GcMarking {
  return {
    block: (id) => {
      const key = hex(id);
      if (live.has(key)) return false;
      live.add(key);
      return true;
    },
    has: (id) => live.has(hex(id)),
    tree: async (root, what, agent) => {
      // Walked into its own set first: a block marked by a head has its whole subtree marked.
      const seen = new Set<string>();
      await walkTree(store, root, seen, (block, message) => report.damaged.push({ what, ...(agent === undefined ? {} : { agent }), block, message }), live);
      for (const id of seen) live.add(id);
    },
    pin: async (id) => {
      const key = hex(id);
      if (live.has(key)) return;
      live.add(key);
      const bytes = await store.blocks.get(id);
      if (bytes === undefined) return;
      let refs: ReturnType<typeof readBlock>;
      try {
        refs = readBlock(bytes, id, { kind: 'node', level: null }, false);
      } catch {
        return; // not a tree node: kept as a block
      }
      const seen = new Set<string>();
      for (const ref of refs) await walkTree(store, ref.id, seen, () => undefined, live, ref.expect);
      for (const s of seen) live.add(s);
    },
    damaged: (d) => report.damaged.push(d),
    malformed: (m) => report.malformed.push(m),
    record: () => report.records++,
  };
}

/** The plugin's answer, checked: a malformed one fails the agent's mark. */
function markPage(out: unknown, agent: string): MarkPage {
  const o = out as Partial<MarkPage> | null;
  const ok =
    o !== null &&
    typeof o === 'object' &&
    o.live instanceof Uint8Array &&
    o.live.length % 32 === 0 &&
    (o.cursor === null || (o.cursor instanceof Uint8Array && o.cursor.length === 32)) &&
    typeof o.commits === 'number' &&
    typeof o.dropped === 'boolean';
  if (!ok)
    throw new CallError(
      'EINTERNAL',
      `gc: the storage plugin's mark of agent "${agent}" is malformed: expected {live: bytes (32 × n), cursor, commits, dropped}`,
      { agent },
    );
  return o as MarkPage;
}
