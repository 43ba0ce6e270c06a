/**
 * Where the CLI finds public keys. `--trust` takes a JWK file or a key id; a key id is looked up
 * in the keyring directory (`--keyring`, else $MCP0_KEYRING, else ~/.mcp0/keyring), which
 * `mcp0 keygen` fills with the public half of every key it makes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError, formatJwk, publicKeyOf, readKeyFile, type PrivateKey, type PublicKey } from '@mcp0/abi';

/** The keyring directory in effect. */
export function keyringDir(explicit?: string): string {
  return explicit ?? process.env.MCP0_KEYRING ?? join(homedir(), '.mcp0', 'keyring');
}

/** Key ids are RFC 7638 thumbprints: 43 base64url characters. */
const KEY_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Resolve each `--trust` value to a public key.
 * @example
 * await resolveTrust(['keys/publisher.pub.jwk', 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])
 */
export async function resolveTrust(values: string[], keyring?: string): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const value of values) {
    if (existsSync(value)) keys.push(publicKeyOf(await readKeyFile(value)));
    else if (KEY_ID.test(value)) keys.push(await findInKeyring(value, keyringDir(keyring)));
    else throw new UsageError('EUSAGE', `--trust ${value}: expected a public key file or a key id (43 base64url characters), and no such file exists`);
  }
  return keys;
}

async function findInKeyring(kid: string, dir: string): Promise<PublicKey> {
  const direct = join(dir, `${kid}.jwk`);
  if (existsSync(direct)) {
    const key = publicKeyOf(await readKeyFile(direct));
    if (key.kid === kid) return key;
  }
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith('.jwk')) : [];
  for (const f of files) {
    const key = publicKeyOf(await readKeyFile(join(dir, f)));
    if (key.kid === kid) return key;
  }
  throw new UsageError('EUSAGE', `--trust ${kid}: no public key with that id in the keyring ${dir} (${files.length} keys there); pass the public key file instead`);
}

/** Every readable public key in the keyring (unreadable files are skipped: this is for display). */
export async function keyringKeys(keyring?: string): Promise<PublicKey[]> {
  const dir = keyringDir(keyring);
  if (!existsSync(dir)) return [];
  const keys: PublicKey[] = [];
  for (const f of (await readdir(dir)).filter((name) => name.endsWith('.jwk'))) {
    try {
      keys.push(publicKeyOf(await readKeyFile(join(dir, f))));
    } catch {
      // A broken file in the keyring should not stop `inspect` from describing a module.
    }
  }
  return keys;
}

/** Put the public half of `key` into the keyring; returns its path. */
export async function addToKeyring(key: PrivateKey | PublicKey, keyring?: string): Promise<string> {
  const dir = keyringDir(keyring);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${key.kid}.jwk`);
  await writeFile(path, formatJwk(publicKeyOf(key)));
  return path;
}
