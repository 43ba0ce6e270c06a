/**
 * Where every command's trust comes from. Trust comes only from the operator: a `--trust` value
 * (a key file given as a path, or a key id looked up in the keyring and nowhere else), the keyring
 * for an id that a document names, or an explicit `--dev` for a development build made here. Never
 * from a file that merely sits in the working folder or beside an artifact. Every trusted key is
 * announced on stderr with its source, so an operator can see what a verdict rests on.
 *
 * The rule for a key reference (`--trust`, `--trust-agent`, `--publisher`, `dist new --key`):
 *   - a PATH when it contains "/" (or "\" on Windows) or ends in ".jwk" or ".json": the file is read,
 *     even if the rest looks like an id (write `./<name>` for a file in the current folder);
 *   - else a KEY ID when it is 43 base64url characters: looked up in the keyring only, and the key
 *     found must have that id;
 *   - else a usage error.
 * Key ids contain neither "/" nor ".", so no value is both.
 *
 * Private key files are refused when group or others can read them (mode & 0o077), as ssh does.
 */
import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { generateKeyPair, hex, publicKeyOf, readKeyFile, UsageError, wasmsign2KeyId, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { type Args, type Io, type OptionSpec, listOption, stringOption } from './command.js';
import { findInKeyring, isKeyId, keyringDir, keyringKeys } from './keyring.js';

/** A key an operator trusts, with where the trust came from (for the stderr note and errors). */
export interface TrustedKey {
  key: PublicKey;
  /** e.g. `--trust me.pub.jwk`, `keyring entry <kid> (<file>)`, `--dev (the development key <file>)`. */
  source: string;
}

/** The development key files a local build (`npm run build`, `mcp0 dist build` without --key) leaves in its output. */
export const DEV_KEY_FILE = 'dev-key.jwk';
export const DEV_PUBLIC_KEY_FILE = 'dev-key.pub.jwk';

/** The options of every command that verifies a distribution (start, agent, conformance, dist verify). */
export const DIST_TRUST_OPTIONS: Record<string, OptionSpec> = {
  trust: {
    type: 'string',
    multiple: true,
    arg: '<key>',
    description:
      "the distribution assembler's public key: a file path (with a / or ending .jwk/.json) or a key id in the keyring; default: the assembler the distribution names, if it is in your keyring",
  },
  dev: {
    type: 'boolean',
    description: `trust the DEVELOPMENT key (${DEV_PUBLIC_KEY_FILE}) a local build left in the distribution folder: only for a build made on this machine`,
  },
  keyring: { type: 'string', arg: '<dir>', description: 'where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
};

/**
 * True when a key reference names a file rather than a key id (the rule in this file's header).
 * @example
 * isKeyPath('me.pub.jwk') // true
 * isKeyPath('./kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k') // true
 * isKeyPath('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k') // false
 */
export function isKeyPath(value: string): boolean {
  return value.includes('/') || (sep !== '/' && value.includes(sep)) || /\.(jwk|json)$/i.test(value);
}

/** Refuse a private key file that group or others can read, saying how to fix it. */
async function assertPrivateMode(path: string): Promise<void> {
  if (process.platform === 'win32') return; // POSIX modes do not describe Windows ACLs.
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new UsageError(
      'EUSAGE',
      `${path}: this private key file can be read by others (mode 0${mode.toString(8)}); refusing to use it, as ssh does. Fix it with: chmod 600 ${path}`,
      { reason: 'key-file-permissions', path, mode: `0${mode.toString(8)}` },
    );
  }
}

/**
 * Read a key file; a private key is refused when others can read the file.
 * @example
 * const key = await readKey('me.jwk')
 */
export async function readKey(path: string): Promise<PrivateKey | PublicKey> {
  const key = await readKeyFile(path);
  if (key.type === 'private') await assertPrivateMode(path);
  return key;
}

/**
 * Read a private key file for signing: a public key, or a file others can read, is a usage error.
 * @example
 * const key = await readPrivateKey(stringOption(args, 'key', true), '--key')
 */
export async function readPrivateKey(path: string, what: string): Promise<PrivateKey> {
  const key = await readKey(path);
  if (key.type !== 'private')
    throw new UsageError('EUSAGE', `${what} ${path}: expected a private key (with "d"), got public key ${key.kid}`, { reason: 'not-a-private-key', path });
  return key;
}

/**
 * Resolve key references (see the rule in this file's header) given with `option`.
 * @example
 * await trustedKeys(['me.pub.jwk', 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'], '--trust')
 */
export async function trustedKeys(values: readonly string[], option: string, keyring?: string): Promise<TrustedKey[]> {
  const out: TrustedKey[] = [];
  for (const value of values) {
    if (isKeyPath(value)) {
      if (!existsSync(value)) throw new UsageError('EUSAGE', `${option} ${value}: no such file`, { reason: 'no-such-file', path: value });
      out.push({ key: publicKeyOf(await readKey(value)), source: `${option} ${value}` });
    } else if (isKeyId(value)) {
      try {
        const entry = await findInKeyring(value, keyring);
        out.push({ key: entry.key, source: `keyring entry ${entry.id} (${entry.file})` });
      } catch (e) {
        if (e instanceof UsageError && e.details.reason === 'not-in-keyring') {
          throw new UsageError(
            'EUSAGE',
            `${option} ${value}: ${e.message}. A key id is looked up only in the keyring: add the key with mcp0 keyring add <file>, or give the file as a path (./${value} for one in this folder)`,
            e.details,
            { cause: e },
          );
        }
        throw e;
      }
    } else {
      throw new UsageError(
        'EUSAGE',
        `${option} ${value}: expected a key file path (containing "/" or ending in .jwk or .json: write ./${value} for a file in this folder) or a key id (43 base64url characters)`,
        { reason: 'not-a-key-reference', value },
      );
    }
  }
  return out;
}

/**
 * Resolve key references to public keys (the library form of `trustedKeys`, without sources).
 * @example
 * await resolveTrust(['keys/publisher.pub.jwk', 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])
 */
export async function resolveTrust(values: readonly string[], keyring?: string, option = '--trust'): Promise<PublicKey[]> {
  return (await trustedKeys(values, option, keyring)).map((t) => t.key);
}

/**
 * Say on stderr which keys a command trusts for `role`, and from where.
 * @example
 * announce(io, 'publisher', keys) // trust: publisher kPrK… from --trust me.pub.jwk
 */
export function announce(io: Io, role: string, keys: readonly TrustedKey[]): void {
  for (const k of keys) io.err(`trust: ${role} ${k.key.kid} from ${k.source}\n`);
}

/** The development key of a local build in `dir`, for an explicit --dev; `use` says what it may vouch for. */
async function devTrust(dir: string, io: Io, use = 'a distribution built on this machine'): Promise<TrustedKey> {
  const file = join(dir, DEV_PUBLIC_KEY_FILE);
  if (!existsSync(file)) {
    throw new UsageError(
      'EUSAGE',
      `--dev: ${dir} has no ${DEV_PUBLIC_KEY_FILE}: --dev trusts only the development key that a local build (npm run build, or mcp0 dist build without --key) leaves in its output folder; otherwise pass --trust <the signer's public key>`,
      { reason: 'no-dev-key', dir },
    );
  }
  const key = publicKeyOf(await readKey(file));
  io.err(
    `WARNING: --dev: trusting the DEVELOPMENT key ${key.kid} found in ${file}, as a local build left it. Use --dev only for ${use}; anyone who can write that folder can put their own key there.\n`,
  );
  return { key, source: `--dev (the development key ${file})` };
}

/**
 * Who a signed statement (a trace checkpoint, an archive seal) is trusted from, announced on
 * stderr as `role`: `--trust`; else, with `--dev`, the development key a local build left in
 * `devDir`; else the key the statement names as its signer, looked up in the keyring only (the
 * statement is untrusted: its id is never resolved against the filesystem). When none is found the
 * list is empty, and the verification that follows refuses, naming the signer.
 * @example
 * const trust = await signerTrust(args, io, { role: 'operator', named: checkpoint.signer, devDir: 'distributions/standard/build', what: 'checkpoints', statement: 'the checkpoint' })
 */
export async function signerTrust(
  args: Args,
  io: Io,
  o: { role: string; named: unknown; devDir: string; what: string; statement: string },
): Promise<PublicKey[]> {
  const given = listOption(args, 'trust');
  const keyring = stringOption(args, 'keyring');
  const dev = args.values.dev === true;
  if (dev && given.length > 0)
    throw new UsageError('EUSAGE', `--dev and --trust both say which ${o.role} key to trust: give one of them`, { reason: 'conflicting-trust' });
  let keys: TrustedKey[] = [];
  if (given.length > 0) keys = await trustedKeys(given, '--trust', keyring);
  else if (dev) keys = [await devTrust(o.devDir, io, `${o.what} signed on this machine`)];
  else if (typeof o.named === 'string' && isKeyId(o.named)) {
    // No signer, or one that is no key id: the verification says what is wrong, with nothing trusted.
    try {
      const entry = await findInKeyring(o.named, keyring);
      keys = [{ key: entry.key, source: `keyring entry ${entry.id} (${entry.file})` }];
    } catch (e) {
      if (!(e instanceof UsageError) || e.details.reason !== 'not-in-keyring') throw e;
      io.err(
        `trust: no ${o.role} key: ${o.statement} names ${o.named}, which is not in your keyring (${keyringDir(keyring)}); pass --trust <its public key file>, or add it with mcp0 keyring add <file>\n`,
      );
    }
  }
  announce(io, o.role, keys);
  return keys.map((k) => k.key);
}

/**
 * The private key that signs a statement now: `--key` (a file others cannot read), or with `--dev`
 * the development key a local build left in `devDir`, with a warning; undefined when neither is given.
 * @example
 * const key = await signingKey(args, io, { devDir: 'distributions/standard/build', what: 'the archive' })
 */
export async function signingKey(args: Args, io: Io, o: { devDir: string; what: string }): Promise<PrivateKey | undefined> {
  const file = stringOption(args, 'key');
  const dev = args.values.dev === true;
  if (file !== undefined && dev)
    throw new UsageError('EUSAGE', `--key and --dev both say which key signs ${o.what}: give one of them`, { reason: 'conflicting-key' });
  if (file !== undefined) return readPrivateKey(file, '--key');
  if (!dev) return undefined;
  const path = join(o.devDir, DEV_KEY_FILE);
  if (!existsSync(path)) {
    throw new UsageError(
      'EUSAGE',
      `--dev: ${o.devDir} has no ${DEV_KEY_FILE}: --dev uses only the development key that a local build (npm run build, or mcp0 dist build without --key) leaves in its output folder; otherwise sign with --key <operator key>`,
      { reason: 'no-dev-key', dir: o.devDir },
    );
  }
  const key = await readPrivateKey(path, '--dev (the development key)');
  io.err(
    `WARNING: --dev: signing ${o.what} with the DEVELOPMENT key ${key.kid} from ${path}. Only a verifier that trusts this development key (--dev on this machine) accepts it; an operator signs with --key <operator key>.\n`,
  );
  return key;
}

/**
 * The trusted assembler keys for the distribution in `dir`, announced on stderr: `--trust`; else,
 * with `--dev`, the development key a local build left there; else the assembler the document
 * names, looked up in the keyring only (the document is untrusted: its id is never resolved
 * against the filesystem). When the document cannot be read, a throwaway key stands in, so the
 * verification that follows reports why and nothing real is trusted.
 * @example
 * const trust = await assemblerTrust(args, 'distributions/standard/build', io)
 */
export async function assemblerTrust(args: Args, dir: string, io: Io): Promise<PublicKey[]> {
  const given = listOption(args, 'trust');
  const keyring = stringOption(args, 'keyring');
  const dev = args.values.dev === true;
  if (dev && given.length > 0)
    throw new UsageError('EUSAGE', '--dev and --trust both say which assembler to trust: give one of them', { reason: 'conflicting-trust' });
  let keys: TrustedKey[];
  if (given.length > 0) keys = await trustedKeys(given, '--trust', keyring);
  else if (dev) keys = [await devTrust(dir, io)];
  else {
    let kid: string;
    try {
      kid = (await (await import('@mcp0/sdk')).readDistribution(dir)).assembler.kid;
    } catch {
      // Unreadable: the verification reports why. A key nobody holds stands in for trust.
      return [generateKeyPair().publicKey];
    }
    try {
      const entry = await findInKeyring(kid, keyring);
      keys = [{ key: entry.key, source: `keyring entry ${entry.id} (${entry.file})` }];
    } catch (e) {
      if (!(e instanceof UsageError) || (e.details.reason !== 'not-in-keyring' && e.details.reason !== 'not-a-key-id')) throw e;
      throw new UsageError(
        'EUSAGE',
        `the assembler ${kid} is not in your keyring: pass --trust <its public key file>, add it with mcp0 keyring add <file>, or, for a development build made on this machine, --dev (trust comes from you, never from the distribution; keyring: ${keyringDir(keyring)})`,
        { reason: 'not-in-keyring', kid },
        { cause: e },
      );
    }
  }
  announce(io, 'assembler', keys);
  return keys.map((k) => k.key);
}

/**
 * Rewrite wasmsign2 hex key ids in `text` as the RFC 7638 thumbprints the user knows (the keyring's
 * keys and `extra`), with the hex id after it in parentheses. Unknown ids are left as they are: a
 * signature does not reveal its public key.
 * @example
 * await thumbprints('signed by key id 5e1c…', undefined, trusted) // 'signed by key id kPrK… (wasmsign2 key id 5e1c…)'
 */
export async function thumbprints(text: string, keyring?: string, extra: readonly PublicKey[] = []): Promise<string> {
  if (!/\b[0-9a-f]{24}\b/.test(text)) return text;
  const known = new Map<string, string>();
  for (const k of [...extra, ...(await keyringKeys(keyring).catch(() => []))]) known.set(hex(wasmsign2KeyId(k)), k.kid);
  return text.replace(/\b[0-9a-f]{24}\b/g, (id) => (known.has(id) ? `${known.get(id)} (wasmsign2 key id ${id})` : id));
}
