/**
 * `mcp0 store`: back up and restore an agent's `mcp0.storage` state as a sealed, self-verifying
 * archive (`mcp0.archive/2`, see @mcp0/sdk `exportAgent` / `importAgent`). Export seals the archive
 * with the exporting operator's private key; import trusts sealing keys the way every command
 * trusts keys (../trust.ts): `--trust`, else the keyring entry of the key the seal names, else an
 * explicit `--dev`, and says on stderr which key it trusts and from where.
 *
 *   mcp0 store export <uri> --agent <id> --out <file> --key <operator.jwk> [--history]
 *   mcp0 store import <uri> --in <file> [--trust <key>...] [--force]
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, publicKeyOf, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { findInKeyring, isKeyId, keyringDir } from '../keyring.js';
import { DEV_KEY_FILE, DEV_PUBLIC_KEY_FILE, announce, readKey, readPrivateKey, trustedKeys, type TrustedKey } from '../trust.js';
import { DEFAULT_DIST } from './node/open.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The options each subcommand takes (besides --json); any other is a usage error. */
const ONLY: Record<'export' | 'import', string[]> = {
  export: ['agent', 'out', 'history', 'key', 'dev', 'dist'],
  import: ['in', 'force', 'trust', 'keyring', 'dev', 'dist'],
};

export const store: Command = {
  name: 'store',
  summary: "back up (export) and restore (import) an agent's storage state as a sealed, verified archive",
  usage: 'export <store-uri> --agent <id> --out <file> (--key <file> | --dev) [--history] [--json]\n       mcp0 store import <store-uri> --in <file> [--trust <key>... | --dev] [--force] [--json]',
  options: {
    agent: { type: 'string', arg: '<id>', description: 'export: the agent whose state is archived' },
    out: { type: 'string', arg: '<file>', description: 'export: the archive file to write' },
    history: { type: 'boolean', description: 'export: include every earlier version (parent commits and their trees)' },
    key: { type: 'string', arg: '<file>', description: "export: the exporting operator's private key (JWK, mode 0600): it seals the archive" },
    in: { type: 'string', arg: '<file>', description: 'import: the archive file to read' },
    force: { type: 'boolean', description: 'import: replace the agent\'s head even when it names other state' },
    trust: { type: 'string', multiple: true, arg: '<key>', description: "import: a key trusted to seal archives: a file path (with a / or ending .jwk/.json) or a key id in the keyring; default: the key the seal names, if it is in your keyring" },
    keyring: { type: 'string', arg: '<dir>', description: 'import: where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    dev: { type: 'boolean', description: `seal with (export) or trust (import) the DEVELOPMENT key a local build left in --dist (${DEV_KEY_FILE}, ${DEV_PUBLIC_KEY_FILE}): only for archives made and restored on this machine` },
    dist: { type: 'string', arg: '<dir>', description: `with --dev: the local build holding the development key (default ${DEFAULT_DIST})` },
    json: { type: 'boolean', description: 'print {agent, signer, root, head, blocks, bytes[, version]} as JSON (root and head in hex)' },
  },
  details: [
    'Store URIs: lmdb:<dir>, memory:, mongodb://host[:port]/database.',
    'The archive is deterministic CBOR {format: "mcp0.archive/2", agent, head, blocks, seal}. It holds exactly the',
    'blocks reachable from the head commit, and a seal: a statement signed by the exporting operator\'s --key over',
    'the format, the agent\'s name, the head commit id (which pins every block by hash), the history flag and the',
    'block count. Import checks the seal against the keys you trust, then re-hashes and walks every block, and',
    'writes nothing unless all of it verifies; then it moves head/<agent> (namespace mcp0.storage), for the agent',
    'the seal names, with a compare-and-swap. An archive sealed by a key you do not trust, or edited after sealing',
    '(one byte of the agent\'s name, say), or carrying another archive\'s seal, is refused. mcp0.archive/1 archives',
    'predate seals and are refused: re-export the agent from its store with --key.',
    'Import trusts --trust <key> (a file path, or a key id looked up in the keyring only); else the key the seal',
    'names, if it is in your keyring; else --dev. The key trusted, and from where, goes to stderr.',
    '`root` is the head commit\'s tree root; `bytes` the archive size; `signer` the id of the key that sealed it.',
    'Exit codes: 0 done; 1 refused (a damaged, unsealed or untrusted archive, an agent without state, another head',
    'without --force); 2 usage error.',
  ].join('\n'),
  async run(args, io) {
    const [sub, uri] = positionals(args, this, 2);
    if (sub !== 'export' && sub !== 'import') throw new UsageError('EUSAGE', `expected export or import, got ${JSON.stringify(sub)}\nusage: mcp0 store ${this.usage}`);
    for (const o of new Set([...ONLY.export, ...ONLY.import])) {
      if (args.values[o] !== undefined && !ONLY[sub].includes(o)) throw new UsageError('EUSAGE', `--${o} is not an option of store ${sub}`);
    }
    if (args.values.dist !== undefined && args.values.dev !== true) throw new UsageError('EUSAGE', '--dist says where --dev finds the development key: give --dev with it');
    return sub === 'export' ? exportCommand(args, uri!, io) : importCommand(args, uri!, io);
  },
};

async function exportCommand(args: Args, uri: string, io: Io): Promise<number> {
  const agent = stringOption(args, 'agent', true);
  const out = stringOption(args, 'out', true);
  const key = await sealingKey(args, io);
  // Loaded here, not at start-up: the SDK pulls in the store drivers (LMDB, MongoDB).
  const sdk = await import('@mcp0/sdk');
  const s = await sdk.openStore(uri);
  let bytes: Uint8Array;
  try {
    bytes = await sdk.exportAgent(s, agent, { key, history: args.values.history === true });
  } finally {
    await s.close();
  }
  const info = await sdk.readArchive(bytes, { trust: [key.publicKey] });
  await writeFile(out, bytes);
  const r = { agent: info.agent, signer: info.signer, root: hexOf(info.root), head: hexOf(info.head), blocks: info.blocks.length, bytes: bytes.length };
  io.out(args.values.json ? `${JSON.stringify(r)}\n` : `exported ${r.agent}, sealed by ${r.signer}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}${info.history ? ' (with history)' : ''} → ${out}\n`);
  return 0;
}

async function importCommand(args: Args, uri: string, io: Io): Promise<number> {
  const file = stringOption(args, 'in', true);
  const bytes = new Uint8Array(await readFile(file));
  const sdk = await import('@mcp0/sdk');
  const trust = await sealerTrust(args, sdk.archiveSigner(bytes), io);
  // Verify before opening the store: an untrusted or damaged archive never touches it.
  await sdk.readArchive(bytes, { trust });
  const s = await sdk.openStore(uri);
  try {
    const res = await sdk.importAgent(s, bytes, { trust, force: args.values.force === true });
    const r = { agent: res.agent, signer: res.signer, root: hexOf(res.root), head: hexOf(res.head), blocks: res.blocks, bytes: bytes.length, version: res.version };
    io.out(args.values.json ? `${JSON.stringify(r)}\n` : `imported ${r.agent}, sealed by ${r.signer}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}, head/${r.agent} at version ${r.version}\n`);
    return 0;
  } finally {
    await s.close();
  }
}

/** The private key that seals an export: --key, or with --dev the local build's development key. */
async function sealingKey(args: Args, io: Io): Promise<PrivateKey> {
  const file = stringOption(args, 'key');
  const dev = args.values.dev === true;
  if (file !== undefined && dev) throw new UsageError('EUSAGE', '--key and --dev both say which key seals the archive: give one of them', { reason: 'conflicting-key' });
  if (file !== undefined) return readPrivateKey(file, "--key (the exporting operator's private key)");
  if (!dev) {
    throw new UsageError('EUSAGE', `--key is required: the exporting operator's private key seals the archive, so that an import can check who exported it and under which agent's name (or --dev: the development key a local build left in ${DEFAULT_DIST})`, { reason: 'no-key' });
  }
  const path = join(devDir(args), DEV_KEY_FILE);
  if (!existsSync(path)) throw noDevKey(devDir(args), DEV_KEY_FILE);
  const key = await readPrivateKey(path, '--dev (the development key)');
  io.err(`WARNING: --dev: sealing with the DEVELOPMENT key ${key.kid} from ${path}. Only an import that trusts this development key (--dev on this machine) accepts the archive; for anything else seal with --key <operator key>.\n`);
  return key;
}

/**
 * The keys trusted to have sealed the archive, announced on stderr: --trust; else, with --dev, the
 * local build's development key; else the key the seal names, looked up in the keyring only (the
 * archive is untrusted: its id is never resolved against the filesystem). When none is found the
 * list is empty, and the import is refused naming the signer.
 */
async function sealerTrust(args: Args, named: string | null, io: Io): Promise<PublicKey[]> {
  const given = listOption(args, 'trust');
  const keyring = stringOption(args, 'keyring');
  const dev = args.values.dev === true;
  if (dev && given.length > 0) throw new UsageError('EUSAGE', '--dev and --trust both say which key to trust: give one of them', { reason: 'conflicting-trust' });
  let keys: TrustedKey[];
  if (given.length > 0) keys = await trustedKeys(given, '--trust', keyring);
  else if (dev) keys = [await devPublicKey(args, io)];
  else keys = await keyringSealer(named, keyring, io);
  announce(io, 'archive sealer', keys);
  return keys.map((k) => k.key);
}

async function keyringSealer(kid: string | null, keyring: string | undefined, io: Io): Promise<TrustedKey[]> {
  // No seal, or a signer that is no key id: the verification says what is wrong, with nothing trusted.
  if (kid === null || !isKeyId(kid)) return [];
  try {
    const entry = await findInKeyring(kid, keyring);
    return [{ key: entry.key, source: `keyring entry ${entry.id} (${entry.file})` }];
  } catch (e) {
    if (!(e instanceof UsageError) || e.details.reason !== 'not-in-keyring') throw e;
    io.err(`trust: no archive sealer: the seal names ${kid}, which is not in your keyring (${keyringDir(keyring)}); pass --trust <its public key file>, or add it with mcp0 keyring add <file>\n`);
    return [];
  }
}

async function devPublicKey(args: Args, io: Io): Promise<TrustedKey> {
  const file = join(devDir(args), DEV_PUBLIC_KEY_FILE);
  if (!existsSync(file)) throw noDevKey(devDir(args), DEV_PUBLIC_KEY_FILE);
  const key = publicKeyOf(await readKey(file));
  io.err(`WARNING: --dev: trusting the DEVELOPMENT key ${key.kid} found in ${file}, as a local build left it. Use --dev only for archives sealed on this machine; anyone who can write that folder can put their own key there.\n`);
  return { key, source: `--dev (the development key ${file})` };
}

const devDir = (args: Args): string => stringOption(args, 'dist') ?? DEFAULT_DIST;

const noDevKey = (dir: string, name: string): UsageError =>
  new UsageError('EUSAGE', `--dev: ${dir} has no ${name}: --dev uses only the development key that a local build (npm run build, or mcp0 dist build without --key) leaves in its output folder; otherwise use --key (export) or --trust (import)`, { reason: 'no-dev-key', dir });
