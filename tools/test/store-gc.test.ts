/**
 * `mcp0 store gc` (issue 13): garbage collection from the command line, through the distribution's
 * storage plugin on a node opened on the store. Agents spawned with `mcp0 agent` come back after it
 * with their state, recorded snapshots cut out of history by --keep still recover, a dry run
 * deletes nothing, a failed mark sweeps nothing and names the agent, and usage errors exit 2.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCbor, generateKeyPair } from '@mcp0/abi';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { STORAGE_MODULE, headRef } from '@mcp0/sdk/archive';
import { run, signedFile, tempDir, writeKeys } from './helpers.js';
import { nodeDist } from './node-dist.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const json = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

let dist: string;
let memory: { file: string; pub: string };
let counter: { file: string; pub: string };
beforeAll(async () => {
  dist = await nodeDist();
  memory = await signedFile('memory');
  counter = await signedFile('counter');
});

/** Every stored block id (hex) of the LMDB store in `dir`. */
async function blocksIn(dir: string): Promise<Set<string>> {
  const s = LmdbStore.open(dir);
  try {
    const out = new Set<string>();
    for (let after: Uint8Array | undefined; ; ) {
      const rows = await s.listBlocks(after, 1000);
      rows.forEach((r) => out.add(hex(r.id)));
      if (rows.length < 1000) return out;
      after = rows.at(-1)!.id;
    }
  } finally {
    await s.close();
  }
}

/** Puts a block nothing references (an interrupted write) into the LMDB store in `dir`; its id. */
async function garbage(dir: string): Promise<string> {
  const s = LmdbStore.open(dir);
  try {
    return hex((await s.blocks.put([new Uint8Array(randomBytes(500))]))[0]!);
  } finally {
    await s.close();
  }
}

/** A store with two agents spawned through the CLI: notes (memory) and tally (counter), tally with a snapshot and later versions. */
async function populated(): Promise<{ dir: string; at: string[]; gcAt: string[]; snap: string; ids: Record<string, string> }> {
  const dir = tempDir('mcp0-store-gc-');
  const at = ['--dist', dist, '--store', `lmdb:${dir}`, '--dev', '--trust-agent', memory.pub];
  const ids: Record<string, string> = {};
  for (const [name, file] of [
    ['notes', memory.file],
    ['tally', counter.file],
  ] as const) {
    const r = await run('agent', 'spawn', file, '--name', name, ...at, '--json');
    expect(r.code, r.err).toBe(0);
    ids[name] = json(r.out).id;
  }
  expect((await run('agent', 'execute', 'notes', 'remember', '{"text":"survives gc"}', ...at)).code).toBe(0);
  expect((await run('agent', 'execute', 'tally', 'increment', '{"by":3}', ...at)).code).toBe(0);
  const snap = json((await run('agent', 'snapshot', 'tally', ...at, '--json')).out).id as string;
  for (let i = 0; i < 3; i++) expect((await run('agent', 'execute', 'tally', 'increment', '{"by":10}', ...at)).code).toBe(0);
  return { dir, at, gcAt: ['--dist', dist, '--dev'], snap, ids };
}

describe('mcp0 store gc', () => {
  it('--help documents gc, its options and what it keeps', async () => {
    const r = await run('store', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/mcp0 store gc \[--store <uri>\] \[--keep <n>\] \[--grace <duration>\] \[--dry-run\]/);
    expect(r.out).toMatch(/--grace <duration>\s+gc: delete only blocks last written longer ago than this, e\.g\. 1h, 30m/);
    expect(r.out).toMatch(/each agent's module, the trees of its recorded snapshots/);
    expect(r.out).toMatch(/nothing\n?\s*is deleted/);
  });

  it("keeps the agents' modules and recorded snapshots: after gc --keep 1 the agents come back with their state, and the snapshot recovers", async () => {
    const { dir, at, gcAt, snap, ids } = await populated();
    const orphan = await garbage(dir);
    const r = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--keep', '1', '--grace', '0', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(r.out.trim().split('\n')).toHaveLength(1); // stdout: the report only
    expect(report).toMatchObject({ agents: 2, records: 2, dryRun: false, failed: [], damaged: [], malformed: [] });
    expect(report.dropped).toBeGreaterThanOrEqual(1);
    expect(report.pinned).toBeGreaterThan(0);
    expect(report.swept).toBeGreaterThan(0);
    expect(report.perAgent.map((a: { agent: string }) => a.agent).sort()).toEqual([ids.notes, ids.tally].sort());
    // Progress and warnings on stderr.
    expect(r.err).toContain('WARNING: --grace 0');
    expect(r.err).toMatch(/gc: marked 2 agents and the node's records: \d+ blocks live\n/);
    expect(r.err).toMatch(/gc: sweeping: \d+ blocks listed, \d+ swept\n/);
    expect((await blocksIn(dir)).has(orphan)).toBe(false);

    const listed = await run('agent', 'list', ...at, '--json');
    expect(listed.code, listed.err).toBe(0);
    expect(json(listed.out).map((a: { name: string }) => a.name)).toEqual(['notes', 'tally']);
    expect(JSON.parse((await run('agent', 'execute', 'tally', 'get', '{}', ...at)).out)).toEqual({ value: 33 });
    expect(JSON.parse((await run('agent', 'execute', 'notes', 'recall', '{"query":"gc"}', ...at)).out).notes).toHaveLength(1);
    const recovered = await run('agent', 'recover', 'tally', snap, ...at);
    expect(recovered.code, recovered.err).toBe(0);
    expect(JSON.parse((await run('agent', 'execute', 'tally', 'get', '{}', ...at)).out)).toEqual({ value: 3 });

    // The history --keep cut starts at a commit with no parent and a seq above 1: export still walks
    // it, and the archive imports into a fresh store.
    const archive = `${tempDir('mcp0-store-gc-archive-')}/tally.cbor`;
    const operator = writeKeys(tempDir('mcp0-store-gc-keys-'), generateKeyPair(), 'operator');
    const exported = await run('store', 'export', `lmdb:${dir}`, '--agent', ids.tally!, '--out', archive, '--history', '--key', operator.priv, '--json');
    expect(exported.code, exported.err).toBe(0);
    const restored = await run('store', 'import', `lmdb:${tempDir('mcp0-store-gc-restored-')}`, '--in', archive, '--trust', operator.pub, '--json');
    expect(restored.code, restored.err).toBe(0);
    expect(JSON.parse(restored.out).blocks).toBe(JSON.parse(exported.out).blocks);
  });

  it('--dry-run deletes nothing and cuts no history; the human report says what it would sweep', async () => {
    const { dir, gcAt } = await populated();
    await garbage(dir);
    const before = await blocksIn(dir);
    const dry = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--keep', '1', '--grace', '0', '--dry-run', '--json');
    expect(dry.code, dry.err).toBe(0);
    const report = JSON.parse(dry.out);
    expect(report).toMatchObject({ dryRun: true, agents: 2 });
    expect(report.swept).toBeGreaterThan(1);
    expect(dry.err).not.toContain('WARNING: --grace 0');
    expect(await blocksIn(dir)).toEqual(before);

    const text = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--keep', '1', '--grace', '0', '--dry-run');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(new RegExp(`^gc of lmdb:${dir} \\(dry run: nothing deleted, no history cut\\):\\n`));
    expect(text.out).toMatch(/ {2}marked 2 agents: \d+ commits kept, at most 1 each \(\d+ histor(y|ies) to cut\)\n/);
    expect(text.out).toMatch(
      / {2}kept \d+ blocks: \d+ reached by the agents' heads, \d+ more for the node's 2 agent records \(modules, recorded snapshots\); \d+ unmarked but written within the grace period\n/,
    );
    expect(text.out).toContain(`  would sweep ${report.swept} blocks of ${report.scanned} listed`);
    expect(await blocksIn(dir)).toEqual(before);
    // The real run frees what the dry run counted; the default grace (an hour) frees nothing yet.
    const young = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--json');
    expect(young.code, young.err).toBe(0);
    expect(JSON.parse(young.out)).toMatchObject({ swept: 0 });
  });

  it('a failed mark sweeps nothing and names the agent (exit 1); --keep 1 repairs a missing parent', async () => {
    const { dir, gcAt, ids } = await populated();
    // tally's head loses its parent commit, as an import without history used to leave it.
    const s = LmdbStore.open(dir);
    const head = (await s.blocks.refGet(STORAGE_MODULE, headRef(ids.tally!)))!;
    const parent = (decodeCbor((await s.blocks.get(head.root))!) as { parent: Uint8Array }).parent;
    await s.deleteBlocks([parent]);
    await s.close();
    const orphan = await garbage(dir);
    const before = await blocksIn(dir);
    const r = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--grace', '0', '--json');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`gc: agent ${ids.tally}: its mark failed: EINTERNAL`);
    expect(r.err).toMatch(/mcp0 store: EINTERNAL: gc: nothing swept: the mark of 1 agent\(s\) failed/);
    expect(JSON.parse(r.out).failed).toEqual([{ agent: ids.tally, code: 'EINTERNAL', message: expect.stringContaining('missing') }]);
    expect(await blocksIn(dir)).toEqual(before);

    const repaired = await run('store', 'gc', `lmdb:${dir}`, ...gcAt, '--grace', '0', '--keep', '1', '--json');
    expect(repaired.code, repaired.err).toBe(0);
    expect((await blocksIn(dir)).has(orphan)).toBe(false);
  });

  it('usage errors exit 2', async () => {
    const dir = tempDir('mcp0-store-gc-');
    for (const [argv, message] of [
      [['--grace', '5'], /--grace: expected a duration such as 1h, 30m, 45s, 500ms, 2d or 0, got "5"/],
      [['--grace', 'soon'], /--grace: expected a duration/],
      [['--grace', '-1h'], /--grace: expected a duration/],
      [['--keep', '0'], /--keep: expected an integer from 1 to 1000000, got "0"/],
      [['--keep', 'all'], /--keep: expected an integer/],
      [['--agent', 'x'], /--agent is not an option of store gc/],
      [['--history'], /--history is not an option of store gc/],
      [['--dist', tempDir(), '--trust', 'not-a-key'], /EUSAGE/],
    ] as [string[], RegExp][]) {
      const r = await run('store', 'gc', `lmdb:${dir}`, ...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(message);
    }
    const exp = await run('store', 'export', `lmdb:${dir}`, '--agent', 'a', '--out', 'x', '--dry-run');
    expect(exp.code).toBe(2);
    expect(exp.err).toMatch(/--dry-run is not an option of store export/);
  });
});
