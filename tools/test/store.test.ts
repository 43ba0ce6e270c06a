/**
 * `mcp0 store export|import`: an agent's storage state (written by the real storage plugin into
 * LMDB) round-trips through an archive file, sealed by the operator's key, into a fresh LMDB;
 * archives edited after sealing (one byte of the agent's name), carrying another archive's seal,
 * sealed by an untrusted key or unsealed (version 1) are refused and write nothing; damaged
 * archives, conflicts and usage errors give exit codes 1 and 2.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor, generateKeyPair } from '@mcp0/abi';
import { LmdbStore } from '@mcp0/sdk/lmdb';
import { headRef, STORAGE_MODULE } from '@mcp0/sdk/archive';
import { agentNameBytes, archiveFields, bootStorage, flipByte, listAll, storage, writeState } from '../../test/archive-support.js';
import { run, tempDir, writeKeys } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const AGENT = 'cli-agent';
/** AGENT with the last byte of its name flipped ('t' ^ 0x01). */
const OTHER = 'cli-agenu';
const srcDir = tempDir('mcp0-store-src-');
const keyDir = tempDir('mcp0-store-keys-');
/** The exporting operator's key files, and a stranger's. Neither is in the keyring unless a test adds it. */
const operator = writeKeys(keyDir, generateKeyPair(), 'operator');
const stranger = writeKeys(keyDir, generateKeyPair(), 'stranger');
let state: Awaited<ReturnType<typeof writeState>>;

beforeAll(async () => {
  const src = LmdbStore.open(srcDir);
  const kernel = await bootStorage(src.blocks);
  state = await writeState(kernel, AGENT);
  await storage(kernel, 'put', { agent: OTHER, key: '/other', value: new Uint8Array([7]) });
  await kernel.stop();
  await src.close();
});

/** Exports AGENT (or `agent`) from the source store into a new file, sealed with `key`; returns the file. */
async function exported(key = operator.priv, agent = AGENT, ...more: string[]): Promise<string> {
  const file = join(tempDir('mcp0-store-'), `${agent}.mcp0a`);
  const r = await run('store', 'export', `lmdb:${srcDir}`, '--agent', agent, '--out', file, '--key', key, ...more);
  expect(r.code, r.err).toBe(0);
  return file;
}

/** A fresh LMDB store in which OTHER (and with `both`, AGENT too) already has state; returns its dir and the heads. */
async function storeWithOthers(both = false): Promise<{ dir: string; heads: () => Promise<unknown[]> }> {
  const dir = join(tempDir('mcp0-store-'), 'dest');
  const dest = LmdbStore.open(dir);
  const k = await bootStorage(dest.blocks);
  for (const agent of both ? [OTHER, AGENT] : [OTHER]) await storage(k, 'put', { agent, key: '/mine', value: new Uint8Array([1]) });
  await k.stop();
  await dest.close();
  const heads = async () => {
    const s = LmdbStore.open(dir);
    try {
      return await Promise.all([OTHER, AGENT].map((a) => s.blocks.refGet(STORAGE_MODULE, headRef(a))));
    } finally {
      await s.close();
    }
  };
  return { dir, heads };
}

/** Writes `bytes` to a new archive file. */
function archiveFile(bytes: Uint8Array, name = 'edited.mcp0a'): string {
  const file = join(tempDir('mcp0-store-'), name);
  writeFileSync(file, bytes);
  return file;
}

describe('mcp0 store', () => {
  it('--help lists both subcommands and the exit codes', async () => {
    const r = await run('store', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/export --agent <name\|id> --out <file> \(--key <file> \| --dev\) \[--store <uri>\]/);
    expect(r.out).toMatch(/import --in <file> \[--store <uri>\] \[--trust <key>\.\.\. \| --dev\]/);
    expect(r.out).toMatch(/mcp0\.archive\/2/);
    expect(r.out).toMatch(/seal/);
    expect(r.out).toMatch(/Exit codes/);
    expect((await run('--help')).out).toMatch(/\n {2}store /);
  });

  it('round-trips through a file into a fresh LMDB store, sealed by --key and trusted by --trust: same head, root and values', async () => {
    const dir = tempDir('mcp0-store-');
    const file = join(dir, 'agent.mcp0a');
    const ex = await run('store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', file, '--key', operator.priv, '--history', '--json');
    expect(ex.code, ex.err).toBe(0);
    const e = JSON.parse(ex.out);
    expect(e).toMatchObject({ agent: AGENT, signer: operator.kid, root: hex(state.second.root), bytes: readFileSync(file).length });
    expect(e.blocks).toBeGreaterThan(100);
    expect(archiveFields(new Uint8Array(readFileSync(file))).seal).toMatchObject({
      type: 'mcp0.archive-seal/1',
      signer: operator.kid,
      agent: AGENT,
      head: e.head,
      history: true,
      blocks: e.blocks,
    });

    const destDir = join(dir, 'dest');
    const im = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--trust', operator.pub, '--json');
    expect(im.code, im.err).toBe(0);
    expect(im.err).toBe(`trust: archive sealer ${operator.kid} from --trust ${operator.pub}\n`);
    expect(JSON.parse(im.out)).toEqual({ ...e, version: 1 });

    const dest = LmdbStore.open(destDir);
    expect(hex((await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT)))!.root)).toBe(e.head);
    const k = await bootStorage(dest.blocks);
    expect(hex((await storage(k, 'snapshot', { agent: AGENT })).root)).toBe(e.root);
    expect((await listAll(k, AGENT)).map(([key, v]) => [key, hex(v)])).toEqual(state.entries.map(([key, v]) => [key, hex(v)]));
    expect((await storage(k, 'history', { agent: AGENT })).roots.length).toBe(3);
    await k.stop();
    await dest.close();

    // Human output, and the same import again is a no-op; by key id, the key is looked up in the keyring.
    expect((await run('keyring', 'add', operator.pub)).code).toBe(0);
    const again = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--trust', operator.kid);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toMatch(new RegExp(`^trust: archive sealer ${operator.kid} from keyring entry ${operator.kid} `));
    expect(again.out).toBe(
      `imported cli-agent, sealed by ${operator.kid}: ${e.blocks} blocks, ${e.bytes} bytes, root ${e.root}, head/cli-agent at version 1\n`,
    );
    // Without --trust: the key the seal names, found in the keyring (and only there).
    const named = await run('store', 'import', `lmdb:${destDir}`, '--in', file);
    expect(named.code, named.err).toBe(0);
    expect(named.err).toMatch(new RegExp(`^trust: archive sealer ${operator.kid} from keyring entry ${operator.kid} `));
    expect((await run('keyring', 'remove', '--', operator.kid)).code).toBe(0);
  });

  it('refuses another head without --force (exit 1), replaces it with --force', async () => {
    const file = await exported();
    const { dir: destDir } = await storeWithOthers(true);
    const r = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--trust', operator.pub);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ECONFLICT: .*force/);
    const f = await run('store', 'import', `lmdb:${destDir}`, '--in', file, '--trust', operator.pub, '--force', '--json');
    expect(f.code, f.err).toBe(0);
    expect(JSON.parse(f.out)).toMatchObject({ root: hex(state.second.root), version: 2 });
  });

  it('refuses damaged archive files with EINPUT (exit 1) and writes nothing', async () => {
    const dir = tempDir('mcp0-store-');
    const file = await exported();
    const bytes = new Uint8Array(readFileSync(file));
    const truncated = join(dir, 'truncated.mcp0a');
    writeFileSync(truncated, bytes.slice(0, bytes.length - 7));
    const flipped = join(dir, 'flipped.mcp0a');
    const b = new Uint8Array(bytes);
    b[b.length - 50]! ^= 0x01;
    writeFileSync(flipped, b);
    const destDir = join(dir, 'dest');
    for (const bad of [truncated, flipped]) {
      const r = await run('store', 'import', `lmdb:${destDir}`, '--in', bad, '--trust', operator.pub);
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/\nmcp0 store: EINPUT: archive: /);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    const dest = LmdbStore.open(destDir);
    expect(await dest.blocks.refGet(STORAGE_MODULE, headRef(AGENT))).toBeUndefined();
    await dest.close();
  });

  it('takes the store as --store, as every command does (the positional URI still works; both is a usage error)', async () => {
    const byOption = join(tempDir('mcp0-store-'), 'a.mcp0a');
    const r = await run('store', 'export', '--store', `lmdb:${srcDir}`, '--agent', AGENT, '--out', byOption, '--key', operator.priv);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(byOption).equals(readFileSync(await exported()))).toBe(true);
    const both = await run(
      'store',
      'export',
      `lmdb:${srcDir}`,
      '--store',
      `lmdb:${srcDir}`,
      '--agent',
      AGENT,
      '--out',
      join(tempDir(), 'b'),
      '--key',
      operator.priv,
    );
    expect(both.code).toBe(2);
    expect(both.err).toContain('the store is given twice');
    const dest = join(tempDir('mcp0-store-'), 'dest');
    const imported = await run('store', 'import', '--store', `lmdb:${dest}`, '--in', byOption, '--trust', operator.pub, '--json');
    expect(imported.code, imported.err).toBe(0);
    expect(JSON.parse(imported.out).agent).toBe(AGENT);
    const missing = await run(
      'store',
      'export',
      '--store',
      `lmdb:${join(tempDir(), 'typo')}`,
      '--agent',
      AGENT,
      '--out',
      join(tempDir(), 'c'),
      '--key',
      operator.priv,
    );
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('ENOTFOUND: no store at');
  });

  it('export never overwrites an existing file unless --force', async () => {
    const file = await exported();
    const before = readFileSync(file);
    const again = await run('store', 'export', `lmdb:${srcDir}`, '--agent', OTHER, '--out', file, '--key', operator.priv);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already exists \(EEXIST\); pass --force to overwrite it/);
    expect(readFileSync(file).equals(before)).toBe(true);
    const forced = await run('store', 'export', `lmdb:${srcDir}`, '--agent', OTHER, '--out', file, '--key', operator.priv, '--force', '--json');
    expect(forced.code, forced.err).toBe(0);
    expect(JSON.parse(forced.out).agent).toBe(OTHER);
    expect(readFileSync(file).equals(before)).toBe(false);
  });

  it('exit 1 for an agent without state; exit 2 for a missing file and usage errors', async () => {
    const dir = tempDir('mcp0-store-');
    const nobody = await run('store', 'export', `lmdb:${srcDir}`, '--agent', 'nobody', '--out', join(dir, 'x'), '--key', operator.priv);
    expect(nobody.code).toBe(1);
    expect(nobody.err).toMatch(/ENOTFOUND/);
    expect((await run('store', 'import', 'memory:', '--in', join(dir, 'missing.mcp0a'))).code).toBe(2);
    const archive = await exported();
    const readable = join(dir, 'readable.jwk');
    writeFileSync(readable, readFileSync(operator.priv));
    chmodSync(readable, 0o640);
    const out = join(dir, 'x');
    for (const [argv, message] of [
      [['store'], /EUSAGE/],
      [['store', 'export', `lmdb:${srcDir}`, '--out', out, '--key', operator.priv], /--agent/],
      [['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--key', operator.priv], /--out/],
      [['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', out], /--key is required: the exporting operator's private key seals the archive/],
      [['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', out, '--key', operator.pub], /expected a private key/],
      [['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', out, '--key', readable], /chmod 600/],
      [['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', out, '--key', operator.priv, '--dev'], /--key and --dev/],
      [
        ['store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', out, '--key', operator.priv, '--trust', operator.pub],
        /--trust is not an option of store export/,
      ],
      [['store', 'import', 'memory:'], /--in/],
      [['store', 'copy', 'memory:'], /expected export, import or gc/],
      [['store', 'import', 'memory:', '--in', archive, '--history'], /--history is not an option of store import/],
      [['store', 'import', 'memory:', '--in', archive, '--key', operator.priv], /--key is not an option of store import/],
      [['store', 'import', 'memory:', '--in', archive, '--trust', operator.pub, '--dev'], /--dev and --trust/],
      [['store', 'import', 'memory:', '--in', archive, '--dist', dir], /give --dev with it/],
      [['store', 'import', 'memory:', '--in', archive, '--dev', '--dist', dir], /has no dev-key\.pub\.jwk/],
      [['store', 'import', 'memory:', '--in', archive, '--trust', 'not-a-key'], /expected a key file path/],
      [['store', 'export', 'redis://x', '--agent', AGENT, '--out', out, '--key', operator.priv], /EUSAGE/],
      [['store', 'import', 'memory:', '--in', 'f', '--bogus'], /EUSAGE/],
    ] as [string[], RegExp][]) {
      const r = await run(...argv);
      expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(/EUSAGE/);
      expect(r.err).toMatch(message);
    }
  });
});

describe('mcp0 store import: sealed archives (issue 12, defect 10)', () => {
  it("refuses an archive with one byte of the agent's name flipped, with and without --force: the other agent's head is unchanged", async () => {
    const bytes = new Uint8Array(readFileSync(await exported()));
    const at = agentNameBytes(bytes, AGENT);
    const renamed = archiveFile(flipByte(bytes, at.archive));
    const resealedName = archiveFile(flipByte(bytes, at.seal), 'seal-name.mcp0a');
    expect(archiveFields(new Uint8Array(readFileSync(renamed))).agent).toBe(OTHER);
    const { dir, heads } = await storeWithOthers();
    const before = await heads();
    for (const [file, message] of [
      [renamed, /ESIGNATURE: archive: the seal does not cover this archive: the seal says agent "cli-agent", the archive has "cli-agenu"/],
      [resealedName, /ESIGNATURE: archive: seal: the mcp0\.archive-seal\/1 statement's signature by \S+ does not verify/],
    ] as [string, RegExp][]) {
      for (const force of [[], ['--force']]) {
        const r = await run('store', 'import', `lmdb:${dir}`, '--in', file, '--trust', operator.pub, ...force);
        expect(r.code, r.err).toBe(1);
        expect(r.err).toMatch(message);
        expect(r.out).toBe('');
      }
    }
    expect(await heads()).toEqual(before); // cli-agenu as it was, cli-agent still absent
  });

  it('refuses an archive sealed by an untrusted key, naming it (with --trust, and from the keyring when it is not there)', async () => {
    const file = await exported(stranger.priv);
    const { dir, heads } = await storeWithOthers(true);
    const before = await heads();
    const given = await run('store', 'import', `lmdb:${dir}`, '--in', file, '--trust', operator.pub, '--force');
    expect(given.code, given.err).toBe(1);
    expect(given.err).toMatch(
      new RegExp(
        `ESIGNATURE: archive: seal: the mcp0\\.archive-seal/1 statement is signed by ${stranger.kid}, which is not a trusted key \\(trusted: ${operator.kid}\\)`,
      ),
    );
    const keyring = await run('store', 'import', `lmdb:${dir}`, '--in', file, '--force');
    expect(keyring.code, keyring.err).toBe(1);
    expect(keyring.err).toMatch(new RegExp(`trust: no archive sealer key: the seal names ${stranger.kid}, which is not in your keyring`));
    expect(keyring.err).toMatch(new RegExp(`signed by ${stranger.kid}, which is not a trusted key \\(trusted: none\\)`));
    expect(await heads()).toEqual(before);
  });

  it("refuses another archive's seal grafted on, with or without the name changed to match", async () => {
    const mine = archiveFields(new Uint8Array(readFileSync(await exported())));
    const theirs = archiveFields(new Uint8Array(readFileSync(await exported(operator.priv, OTHER))));
    const { dir, heads } = await storeWithOthers(true);
    const before = await heads();
    for (const [bytes, message] of [
      [encodeCbor({ ...mine, seal: theirs.seal }), /the seal says agent "cli-agenu", the archive has "cli-agent"/],
      [encodeCbor({ ...mine, seal: theirs.seal, agent: OTHER }), /the seal says head "[0-9a-f]{64}", the archive has "[0-9a-f]{64}"/],
    ] as [Uint8Array, RegExp][]) {
      const r = await run('store', 'import', `lmdb:${dir}`, '--in', archiveFile(bytes), '--trust', operator.pub, '--force');
      expect(r.code, r.err).toBe(1);
      expect(r.err).toMatch(/ESIGNATURE: archive: the seal does not cover this archive/);
      expect(r.err).toMatch(message);
    }
    expect(await heads()).toEqual(before);
  });

  it('refuses a version 1 (unsealed) archive, saying to re-export it with --key', async () => {
    const { seal: _seal, ...v2 } = archiveFields(new Uint8Array(readFileSync(await exported())));
    const file = archiveFile(encodeCbor({ ...v2, format: 'mcp0.archive/1' }), 'v1.mcp0a');
    const { dir, heads } = await storeWithOthers(true);
    const before = await heads();
    const r = await run('store', 'import', `lmdb:${dir}`, '--in', file, '--trust', operator.pub, '--force');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/ESIGNATURE: archive: format mcp0\.archive\/1 predates seals: .* Re-export the agent from its store .*mcp0 store export --key/);
    expect(await heads()).toEqual(before);
  });

  it("--dev seals with, and trusts, the development key a local build left in --dist, with a warning; another build's key is not trusted", async () => {
    const build = tempDir('mcp0-store-build-');
    const dev = writeKeys(build, generateKeyPair(), 'dev-key');
    const file = join(tempDir('mcp0-store-'), 'dev.mcp0a');
    const ex = await run('store', 'export', `lmdb:${srcDir}`, '--agent', AGENT, '--out', file, '--dev', '--dist', build, '--json');
    expect(ex.code, ex.err).toBe(0);
    expect(ex.err).toMatch(new RegExp(`^WARNING: --dev: signing the archive with the DEVELOPMENT key ${dev.kid}`));
    expect(JSON.parse(ex.out).signer).toBe(dev.kid);
    const dest = join(tempDir('mcp0-store-'), 'dest');
    const im = await run('store', 'import', `lmdb:${dest}`, '--in', file, '--dev', '--dist', build);
    expect(im.code, im.err).toBe(0);
    expect(im.err).toMatch(new RegExp(`WARNING: --dev: trusting the DEVELOPMENT key ${dev.kid}`));
    expect(im.err).toMatch(new RegExp(`trust: archive sealer ${dev.kid} from --dev \\(the development key ${build}/dev-key\\.pub\\.jwk\\)`));
    const elsewhere = tempDir('mcp0-store-build-');
    writeKeys(elsewhere, generateKeyPair(), 'dev-key');
    const other = await run('store', 'import', `lmdb:${join(tempDir('mcp0-store-'), 'dest')}`, '--in', file, '--dev', '--dist', elsewhere);
    expect(other.code, other.err).toBe(1);
    expect(other.err).toMatch(new RegExp(`signed by ${dev.kid}, which is not a trusted key`));
  });
});
