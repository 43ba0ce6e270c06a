/**
 * The keyring: the public keys an operator trusts by id, one JWK file per key in a directory
 * (`--keyring`, else $MCP0_KEYRING, else ~/.mcp0/keyring). `mcp0 keygen` and `mcp0 keyring add`
 * put keys in, `mcp0 keyring remove` takes them out, `mcp0 keyring list` shows them.
 *
 * An entry is believed only when the key inside has the id that was asked for (file names are not
 * evidence), and only when no one else can write it: like ssh with authorized_keys, an entry or a
 * keyring directory that is group- or world-writable is refused, since anyone who can write there
 * can plant a key. Reading private key files (with their permission check) is in ./trust.ts.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Mcp0Error, UsageError, publicKeyOf, readKeyFile, toJwk, type PrivateKey, type PublicKey } from '@mcp0/abi';

/** The keyring directory in effect. */
export function keyringDir(explicit?: string): string {
  return explicit ?? process.env.MCP0_KEYRING ?? join(homedir(), '.mcp0', 'keyring');
}

/** Key ids are RFC 7638 thumbprints: 43 base64url characters. */
const KEY_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * True when `value` has the shape of a key id (an RFC 7638 thumbprint). Such a value never
 * contains "/" or ".", so it cannot be mistaken for a path under the rule of ./trust.ts.
 * @example
 * isKeyId('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k') // true
 */
export function isKeyId(value: string): boolean {
  return KEY_ID.test(value);
}

/** The JWK member where the keyring keeps a human label for a key (unknown members are ignored by parsers). */
const LABEL = 'mcp0:label';

/** One key in the keyring. */
export interface KeyringEntry {
  /** The key id (RFC 7638 thumbprint) of the key inside, whatever the file is called. */
  id: string;
  /** The label given when it was added, if any. */
  label?: string;
  file: string;
  /** `private` when the file holds a private key: it should not be there (list flags it). */
  type: 'public' | 'private';
  key: PublicKey;
}

/** A file in the keyring that could not be used, and why. */
export interface BrokenEntry {
  file: string;
  reason: string;
}

const isSystemError = (e: unknown): e is NodeJS.ErrnoException => e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';

/** Refuse `path` when others can write it (mode & 0o022): they could plant or swap keys. */
async function assertNotWritableByOthers(path: string, what: string): Promise<void> {
  if (process.platform === 'win32') return; // POSIX modes do not describe Windows ACLs.
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new UsageError(
      'EUSAGE',
      `${what} ${path} can be written by others (mode 0${mode.toString(8)}), so anyone could plant a key there; refusing to trust it. Fix it with: chmod go-w ${path}`,
      { reason: 'keyring-permissions', path, mode: `0${mode.toString(8)}` },
    );
  }
}

/** Read one entry; throws a UsageError naming the file when it is unreadable or writable by others. */
async function readEntry(file: string): Promise<KeyringEntry> {
  await assertNotWritableByOthers(file, 'the keyring entry');
  const key = await readKeyFile(file);
  const text = await readFile(file, 'utf8');
  let label: string | undefined;
  try {
    const value = (JSON.parse(text) as Record<string, unknown>)[LABEL];
    if (typeof value === 'string' && value.length > 0) label = value;
  } catch {
    // readKeyFile parsed it already; a label is decoration.
  }
  return { id: key.kid, ...(label ? { label } : {}), file, type: key.type, key: publicKeyOf(key) };
}

/**
 * Every entry of the keyring, and the files that could not be read (for `keyring list`).
 * @example
 * const { entries } = await keyringEntries()
 */
export async function keyringEntries(keyring?: string): Promise<{ dir: string; entries: KeyringEntry[]; broken: BrokenEntry[] }> {
  const dir = keyringDir(keyring);
  if (!existsSync(dir)) return { dir, entries: [], broken: [] };
  const entries: KeyringEntry[] = [];
  const broken: BrokenEntry[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.endsWith('.jwk')).sort()) {
    const file = join(dir, name);
    try {
      entries.push(await readEntry(file));
    } catch (e) {
      if (!(e instanceof Mcp0Error) && !isSystemError(e)) throw e;
      broken.push({ file, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { dir, entries, broken };
}

/**
 * The keyring's key with id `kid`. The file `<kid>.jwk` is tried first, then every entry; an entry
 * counts only when the key inside has that id. Throws `EUSAGE` (details.reason `not-in-keyring`)
 * when no entry has it, and `EUSAGE` (`keyring-permissions`) when the keyring or the entry can be
 * written by others. Never looks anywhere but the keyring.
 * @example
 * const entry = await findInKeyring('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
 */
export async function findInKeyring(kid: string, keyring?: string): Promise<KeyringEntry> {
  if (!isKeyId(kid)) throw new UsageError('EUSAGE', `${JSON.stringify(kid)} is not a key id (43 base64url characters)`, { reason: 'not-a-key-id', kid });
  const dir = keyringDir(keyring);
  if (existsSync(dir)) {
    await assertNotWritableByOthers(dir, 'the keyring directory');
    const direct = join(dir, `${kid}.jwk`);
    if (existsSync(direct)) {
      const entry = await readEntry(direct);
      if (entry.id === kid) return entry;
    }
    for (const name of (await readdir(dir)).filter((f) => f.endsWith('.jwk') && f !== `${kid}.jwk`)) {
      let entry: KeyringEntry;
      try {
        entry = await readEntry(join(dir, name));
      } catch (e) {
        // An unreadable stranger does not stop the search; one others can write is never used.
        if (e instanceof Mcp0Error || isSystemError(e)) continue;
        throw e;
      }
      if (entry.id === kid) return entry;
    }
  }
  throw new UsageError('EUSAGE', `no public key with the id ${kid} in the keyring ${dir}`, { reason: 'not-in-keyring', kid, keyring: dir });
}

/** Every readable public key in the keyring (unusable files are skipped: this is for display). */
export async function keyringKeys(keyring?: string): Promise<PublicKey[]> {
  return (await keyringEntries(keyring)).entries.map((e) => e.key);
}

/**
 * Put the public half of `key` into the keyring as `<kid>.jwk` (mode 0644; the directory is made
 * 0700, whatever the umask), with an optional label; returns its path.
 * @example
 * await addToKeyring(key, undefined, 'release signing key')
 */
export async function addToKeyring(key: PrivateKey | PublicKey, keyring?: string, label?: string): Promise<string> {
  const dir = keyringDir(keyring);
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const path = join(dir, `${key.kid}.jwk`);
  const jwk = { ...toJwk(publicKeyOf(key)), ...(label ? { [LABEL]: label } : {}) };
  await writeFile(path, `${JSON.stringify(jwk, null, 2)}\n`, { mode: 0o644 });
  // An existing entry keeps its old mode on overwrite; the mode above covers new ones only.
  await chmod(path, 0o644);
  return path;
}

/**
 * Remove every keyring file holding the key `kid` (by the key inside, not by file name); returns
 * the files removed. Throws `ENOTFOUND` when none does.
 * @example
 * await removeFromKeyring('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
 */
export async function removeFromKeyring(kid: string, keyring?: string): Promise<string[]> {
  if (!isKeyId(kid)) throw new UsageError('EUSAGE', `${JSON.stringify(kid)} is not a key id (43 base64url characters)`, { reason: 'not-a-key-id', kid });
  const { dir, entries, broken } = await keyringEntries(keyring);
  const files = entries.filter((e) => e.id === kid).map((e) => e.file);
  // A file named after the id that cannot be read is removed too: it is what the user asked for.
  const named = broken.find((b) => basename(b.file) === `${kid}.jwk`);
  if (named) files.push(named.file);
  if (files.length === 0) throw new Mcp0Error('ENOTFOUND', `no key with the id ${kid} in the keyring ${dir}`, { kid, keyring: dir });
  for (const f of files) await rm(f, { force: true });
  return files;
}
