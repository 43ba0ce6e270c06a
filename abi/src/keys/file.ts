/** Reading and writing JWK key files. Private key files are created owner-only (mode 0600). */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { Mcp0Error, UsageError } from '../errors/index.js';
import { formatJwk, parseJwk } from './jwk.js';
import type { PrivateKey, PublicKey } from './types.js';

/** Re-throw `e` as EUSAGE naming the file, keeping the original code and details. */
function aboutFile(path: string, e: unknown): never {
  if (e instanceof Mcp0Error) throw new UsageError(e.code, `${path}: ${e.message}`, { ...e.details, path }, { cause: e });
  const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  throw new UsageError('EUSAGE', `${path}: cannot read or write the key file (${reason})`, { path, reason }, { cause: e });
}

/**
 * Read and strictly parse a JWK key file.
 * @example
 * const key = await readKeyFile('keys/publisher.jwk')
 */
export async function readKeyFile(path: string): Promise<PrivateKey | PublicKey> {
  try {
    return parseJwk(await readFile(path, 'utf8'));
  } catch (e) {
    return aboutFile(path, e);
  }
}

/**
 * Write a key as a JWK file. Refuses to overwrite an existing file unless `overwrite` is set,
 * because losing a signing key is not undoable.
 * @example
 * await writeKeyFile('keys/publisher.jwk', generateKeyPair())
 */
export async function writeKeyFile(path: string, key: PrivateKey | PublicKey, options: { overwrite?: boolean } = {}): Promise<void> {
  try {
    const mode = key.type === 'private' ? 0o600 : 0o644;
    await writeFile(path, formatJwk(key), { mode, flag: options.overwrite ? 'w' : 'wx' });
    // `mode` applies only when the file is created; an overwritten file keeps its old mode.
    await chmod(path, mode);
  } catch (e) {
    aboutFile(path, e);
  }
}
