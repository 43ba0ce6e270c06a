/**
 * `mcp0 store`: back up and restore an agent's `mcp0.storage` state as a sealed, self-verifying
 * archive (`mcp0.archive/2`, see @mcp0/sdk `exportAgent` / `importAgent`), and collect a store's
 * garbage (./store/gc.ts). Export seals the archive with the exporting operator's private key;
 * import trusts sealing keys the way every command trusts keys (../trust.ts): `--trust`, else the
 * keyring entry of the key the seal names, else an explicit `--dev`, and says on stderr which key it
 * trusts and from where. gc runs the distribution's storage plugin, verified the way `mcp0 start`
 * verifies it (`--dist`, `--trust`/keyring/`--dev` for its assembler).
 *
 *   mcp0 store export --agent <name|id> --out <file> --key <operator.jwk> [--store <uri>] [--history]
 *   mcp0 store import --in <file> [--store <uri>] [--trust <key>...] [--force]
 *   mcp0 store gc [--store <uri>] [--keep <n>] [--grace <duration>] [--dry-run]
 * The store is `--store`, as in every command (default lmdb:./data); the positional URI of earlier
 * versions is still read.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { UsageError, type PrivateKey, type PublicKey } from '@mcp0/abi';
import { type Args, type Command, type Io, positionals, stringOption } from '../command.js';
import { DEV_KEY_FILE, DEV_PUBLIC_KEY_FILE, signerTrust, signingKey } from '../trust.js';
import type { Store } from '@mcp0/sdk';
import { DEFAULT_DIST, DEFAULT_STORE } from '../defaults.js';
import { assertStoreExists } from './trace/chain.js';
import { gcCommand } from './store/gc.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The options each subcommand takes (besides --json); any other is a usage error. */
const ONLY: Record<'export' | 'import' | 'gc', string[]> = {
  export: ['store', 'agent', 'out', 'force', 'history', 'key', 'dev', 'dist'],
  import: ['store', 'in', 'force', 'trust', 'keyring', 'dev', 'dist'],
  gc: ['store', 'keep', 'grace', 'dry-run', 'trust', 'keyring', 'dev', 'dist'],
};

export const store: Command = {
  name: 'store',
  summary: "back up (export) and restore (import) an agent's storage state as a sealed, verified archive; collect a store's garbage (gc)",
  usage:
    'export --agent <name|id> --out <file> (--key <file> | --dev) [--store <uri>] [--history] [--force] [--json]\n' +
    '       mcp0 store import --in <file> [--store <uri>] [--trust <key>... | --dev] [--force] [--json]\n' +
    '       mcp0 store gc [--store <uri>] [--keep <n>] [--grace <duration>] [--dry-run] [--dist <dir>] [--trust <key>... | --dev] [--json]',
  options: {
    store: {
      type: 'string',
      arg: '<uri>',
      description: `the store, as every command takes it (default ${DEFAULT_STORE}; also memory:, mongodb://host/db); the URI may also come right after the subcommand, as in earlier versions`,
    },
    agent: { type: 'string', arg: '<name|id>', description: 'export: the agent whose state is archived: its name, as agent commands take it, or its id' },
    out: { type: 'string', arg: '<file>', description: 'export: the archive file to write' },
    history: { type: 'boolean', description: 'export: include every earlier version (parent commits and their trees)' },
    key: { type: 'string', arg: '<file>', description: "export: the exporting operator's private key (JWK, mode 0600): it seals the archive" },
    in: { type: 'string', arg: '<file>', description: 'import: the archive file to read' },
    force: { type: 'boolean', description: "export: overwrite an existing --out file; import: replace the agent's head even when it names other state" },
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description:
        "import: a key trusted to seal archives; gc: the distribution assembler's key. A file path (with a / or ending .jwk/.json) or a key id in the keyring; default: the key the seal (the distribution) names, if it is in your keyring",
    },
    keyring: { type: 'string', arg: '<dir>', description: 'import, gc: where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    dev: {
      type: 'boolean',
      description: `seal with (export) or trust (import) the DEVELOPMENT key a local build left in --dist (${DEV_KEY_FILE}, ${DEV_PUBLIC_KEY_FILE}): only for archives made and restored on this machine; gc: trust it to verify --dist`,
    },
    dist: {
      type: 'string',
      arg: '<dir>',
      description: `export, import with --dev: the local build holding the development key; gc: the distribution whose storage plugin marks (default ${DEFAULT_DIST})`,
    },
    keep: {
      type: 'string',
      arg: '<n>',
      description: 'gc: keep the newest n commits of each agent and drop the history past them (default: all history is kept)',
    },
    grace: {
      type: 'string',
      arg: '<duration>',
      description: 'gc: delete only blocks last written longer ago than this, e.g. 1h, 30m, 45s, 0 (default 1h); 0 only when nothing else writes to the store',
    },
    'dry-run': { type: 'boolean', description: 'gc: mark and count what would be swept; delete nothing, cut no history' },
    json: {
      type: 'boolean',
      description: 'export, import: print {agent, signer, root, head, blocks, bytes[, version]} as JSON (root and head in hex); gc: the report as JSON',
    },
  },
  details: [
    'Store URIs: lmdb:<dir>, memory:, mongodb://host[:port]/database.',
    'The archive is deterministic CBOR {format: "mcp0.archive/2", agent, head, blocks, seal}. It holds exactly the',
    "blocks reachable from the head commit, and a seal: a statement signed by the exporting operator's --key over",
    "the format, the agent's name, the head commit id (which pins every block by hash), the history flag and the",
    'block count. Import checks the seal against the keys you trust, then re-hashes and walks every block, and',
    'writes nothing unless all of it verifies; then it moves head/<agent> (namespace mcp0.storage), for the agent',
    'the seal names, with a compare-and-swap. An archive sealed by a key you do not trust, or edited after sealing',
    "(one byte of the agent's name, say), or carrying another archive's seal, is refused. mcp0.archive/1 archives",
    'predate seals and are refused: re-export the agent from its store with --key.',
    'Import trusts --trust <key> (a file path, or a key id looked up in the keyring only); else the key the seal',
    'names, if it is in your keyring; else --dev. The key trusted, and from where, goes to stderr.',
    "`root` is the head commit's tree root; `bytes` the archive size; `signer` the id of the key that sealed it.",
    "An archive without --history holds the current state under a root commit (no parent): the imported agent's",
    'history starts there, and exporting it again gives the same bytes.',
    '',
    'gc frees the blocks nothing needs any more: it runs the storage plugin of the distribution (--dist, verified',
    "like mcp0 start verifies it) on a node opened on the store, marks every block each agent's head and history",
    'reach (with --keep n, after dropping the history past the newest n commits), every block the node keeps',
    "(each agent's module, the trees of its recorded snapshots, whether or not the node brings the agent back), and",
    'deletes the other blocks last written before the run began minus --grace. A node record that is malformed is',
    'kept whole: every block id in it is marked. A block missing under a recorded snapshot or module is reported',
    "(warning) and the rest is kept; a mark of an agent's head that fails (a missing block) stops the sweep: nothing",
    "is deleted, since any unmarked block could be that agent's, and the agents that failed are named (exit 1).",
    "Progress goes to stderr; the report to stdout: agents, commits kept, blocks live (pinned: kept for the node's",
    'records), young (unmarked, within the grace period), scanned, swept, and damaged/malformed/failed with --json.',
    '',
    'Exit codes: 0 done; 1 refused (a damaged, unsealed or untrusted archive, an agent without state, another head',
    'without --force; a gc whose mark failed); 2 usage error, or a distribution that does not verify.',
  ].join('\n'),
  async run(args, io) {
    const [sub, positional] = positionals(args, this, 1, 2);
    if (sub !== 'export' && sub !== 'import' && sub !== 'gc')
      throw new UsageError('EUSAGE', `expected export, import or gc, got ${JSON.stringify(sub)}\nusage: mcp0 store ${this.usage}`);
    const given = stringOption(args, 'store');
    if (given !== undefined && positional !== undefined)
      throw new UsageError('EUSAGE', `the store is given twice (${positional} and --store ${given}): give --store only`);
    const uri = given ?? positional ?? DEFAULT_STORE;
    for (const o of new Set([...ONLY.export, ...ONLY.import, ...ONLY.gc])) {
      if (args.values[o] !== undefined && !ONLY[sub].includes(o)) throw new UsageError('EUSAGE', `--${o} is not an option of store ${sub}`);
    }
    if (sub === 'gc') return gcCommand(args, uri, io);
    if (args.values.dist !== undefined && args.values.dev !== true)
      throw new UsageError('EUSAGE', '--dist says where --dev finds the development key: give --dev with it');
    return sub === 'export' ? exportCommand(args, uri, io) : importCommand(args, uri, io);
  },
};

async function exportCommand(args: Args, uri: string, io: Io): Promise<number> {
  const named = stringOption(args, 'agent', true);
  const out = stringOption(args, 'out', true);
  const force = args.values.force === true;
  // Checked before the work, and again by the exclusive write below (a file may appear meanwhile).
  if (!force && existsSync(out)) throw new UsageError('EUSAGE', `${out} already exists (EEXIST); pass --force to overwrite it`);
  const key = await sealingKey(args, io);
  // Loaded here, not at start-up: only the store commands need them.
  const sdk = await import('@mcp0/sdk');
  const archive = await import('@mcp0/sdk/archive');
  assertStoreExists(uri);
  const s = await sdk.openStore(uri);
  let bytes: Uint8Array;
  try {
    bytes = await archive.exportAgent(s, await agentId(s, named), { key, history: args.values.history === true });
  } finally {
    await s.close();
  }
  const info = await archive.readArchive(bytes, { trust: [key.publicKey] });
  await writeFile(out, bytes, { flag: force ? 'w' : 'wx' });
  const r = { agent: info.agent, signer: info.signer, root: hexOf(info.root), head: hexOf(info.head), blocks: info.blocks.length, bytes: bytes.length };
  io.out(
    args.values.json
      ? `${JSON.stringify(r)}\n`
      : `exported ${r.agent}, sealed by ${r.signer}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}${info.history ? ' (with history)' : ''} → ${out}\n`,
  );
  return 0;
}

async function importCommand(args: Args, uri: string, io: Io): Promise<number> {
  const file = stringOption(args, 'in', true);
  const bytes = new Uint8Array(await readFile(file));
  const sdk = await import('@mcp0/sdk');
  const archive = await import('@mcp0/sdk/archive');
  const trust = await sealerTrust(args, archive.archiveSigner(bytes), io);
  // Verify before opening the store: an untrusted or damaged archive never touches it.
  await archive.readArchive(bytes, { trust });
  const s = await sdk.openStore(uri);
  try {
    const res = await archive.importAgent(s, bytes, { trust, force: args.values.force === true });
    const r = {
      agent: res.agent,
      signer: res.signer,
      root: hexOf(res.root),
      head: hexOf(res.head),
      blocks: res.blocks,
      bytes: bytes.length,
      version: res.version,
    };
    io.out(
      args.values.json
        ? `${JSON.stringify(r)}\n`
        : `imported ${r.agent}, sealed by ${r.signer}: ${r.blocks} blocks, ${r.bytes} bytes, root ${r.root}, head/${r.agent} at version ${r.version}\n`,
    );
    return 0;
  } finally {
    await s.close();
  }
}

/**
 * The id of the agent `named` (its name, as agent commands take it, or its id) by the node's
 * records in the store; a name no record has is taken as an id (state imported without a record).
 */
async function agentId(s: Store, named: string): Promise<string> {
  const { AgentRecords } = await import('@mcp0/sdk');
  const { records } = await new AgentRecords(s.kv, s.blocks).list();
  if (records.some((r) => r.id === named)) return named;
  const byName = records.filter((r) => r.name === named);
  if (byName.length > 1)
    throw new UsageError('EUSAGE', `--agent ${named}: ${byName.length} agents have that name (${byName.map((r) => r.id).join(', ')}): give the id`);
  return byName[0]?.id ?? named;
}

/** The private key that seals an export: --key, or with --dev the local build's development key. */
async function sealingKey(args: Args, io: Io): Promise<PrivateKey> {
  const key = await signingKey(args, io, { devDir: devDir(args), what: 'the archive' });
  if (key) return key;
  throw new UsageError(
    'EUSAGE',
    `--key is required: the exporting operator's private key seals the archive, so that an import can check who exported it and under which agent's name (or --dev: the development key a local build left in ${DEFAULT_DIST})`,
    { reason: 'no-key' },
  );
}

/** The keys trusted to have sealed the archive (../trust.ts `signerTrust`): --trust, --dev, or the keyring entry of the key the seal names. */
const sealerTrust = (args: Args, named: string | null, io: Io): Promise<PublicKey[]> =>
  signerTrust(args, io, { role: 'archive sealer', named, devDir: devDir(args), what: 'archives', statement: 'the seal' });

const devDir = (args: Args): string => stringOption(args, 'dist') ?? DEFAULT_DIST;
