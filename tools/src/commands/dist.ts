/**
 * `mcp0 dist`: assemble, lock, verify and build distributions (signed lockfiles of plugins,
 * grants, pipeline order and budgets; ARCHITECTURE.md §7). The work is in @mcp0/sdk's dist library; the
 * subcommands here parse options and print. The SDK is imported only when this command runs.
 */
import { UsageError } from '@mcp0/abi';
import { type Args, type Command } from '../command.js';
import { add, create, grant, pipeline, remove } from './distribution/edit.js';
import { build } from './distribution/build.js';
import { lock, verify } from './distribution/seal.js';

const SUBCOMMANDS = { new: create, add, remove, grant, pipeline, lock, verify, build } as const;
type Sub = keyof typeof SUBCOMMANDS;

/** The options each subcommand reads: another subcommand's option is a mistake worth saying. */
const OPTIONS_OF: Record<Sub, readonly string[]> = {
  new: ['name', 'version', 'key', 'keyring'],
  add: ['grant', 'isolation', 'config', 'no-preempt', 'publisher', 'keyring'],
  remove: [],
  grant: ['grant', 'revoke'],
  pipeline: ['admit', 'observe'],
  lock: ['key'],
  verify: ['trust', 'dev', 'keyring', 'json'],
  build: ['out', 'key', 'publisher-key', 'force', 'quiet'],
};
const COMMON = ['help', 'debug'];

/**
 * The `mcp0 dist` command, registered in cli.ts.
 * @example
 * await main(['dist', 'verify', 'distributions/standard/build', '--dev'])
 */
export const dist: Command = {
  name: 'dist',
  summary: 'assemble, lock, verify and build a distribution (a signed lockfile of plugins)',
  usage: '<new|add|remove|grant|pipeline|lock|verify|build> <dir> [options]',
  options: {
    name: { type: 'string', arg: '<name>', description: "new: the distribution's name (e.g. acme.edge)" },
    version: { type: 'string', arg: '<semver>', description: 'new: its version (default 0.1.0)' },
    key: {
      type: 'string',
      arg: '<key>',
      description: "new: the assembler's key (a file path, or a key id in the keyring); lock, build: its private key file (mode 0600)",
    },
    grant: {
      type: 'string',
      multiple: true,
      arg: '<grant>',
      description: 'add, grant: a capability to grant (kv, kv:prefix/, blocks, call:mod[/export], crypto, net:peer, emit:topic, clock, random)',
    },
    revoke: { type: 'string', multiple: true, arg: '<grant>', description: 'grant: a grant to take back, by its text or capability name' },
    isolation: { type: 'string', arg: '<tier>', description: 'add: inline (default) or worker' },
    config: { type: 'string', arg: '<json>', description: "add: the plugin's config, a JSON object (default {})" },
    'no-preempt': { type: 'boolean', description: "add: turn off the inline tier's deadline checks for this trusted plugin" },
    publisher: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description: "add: a publisher public key (a file path, or a key id in the keyring) to trust for this distribution's plugins",
    },
    admit: { type: 'string', arg: '<a,b>', description: 'pipeline: the admit hooks in order (plugin names; "" for none)' },
    observe: { type: 'string', arg: '<a,b>', description: 'pipeline: the observe hooks in order' },
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description:
        'verify: a trusted assembler public key (a file path, or a key id in the keyring; default: the assembler the document names, looked up in the keyring only)',
    },
    dev: {
      type: 'boolean',
      description: 'verify: trust the DEVELOPMENT key (dev-key.pub.jwk) a local build left in <dir>: only for a build made on this machine',
    },
    keyring: { type: 'string', arg: '<dir>', description: 'where key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    json: { type: 'boolean', description: 'verify: print the verdict as JSON' },
    out: { type: 'string', arg: '<dir>', description: 'build: the output directory (default <spec-dir>/build)' },
    'publisher-key': { type: 'string', arg: '<file>', description: 'build: the key that signs the plugins (default: the assembler key)' },
    force: { type: 'boolean', description: 'build: compile every plugin, even those whose cached build (<out>/.cache) is up to date' },
    quiet: { type: 'boolean', description: 'build: print nothing on success' },
  },
  details: [
    'subcommands:',
    '  mcp0 dist new <dir> --name <name> [--version <v>] --key <assembler key>',
    "      an empty distribution; the assembler's public key is recorded, lock will need its private key",
    '  mcp0 dist add <dir> <plugin.wasm> [--grant g]... [--isolation inline|worker] [--config <json>] [--no-preempt] [--publisher <key>]...',
    '      copy a signed plugin into <dir>/plugins/ (replacing one of the same name); its signer must be a publisher',
    '  mcp0 dist remove <dir> <name>                  the entry, its file, and its place in the pipeline',
    '  mcp0 dist grant <dir> <name> [--grant g]... [--revoke g]...',
    "      a new grant replaces the plugin's earlier grant of that capability",
    '  mcp0 dist pipeline <dir> [--admit a,b] [--observe c,d]',
    '      the order of the admit hooks (before execute) and observe hooks (after)',
    "  mcp0 dist lock <dir> --key <assembler.jwk>     pin each plugin's sha256, check everything, sign",
    '  mcp0 dist verify <dir> [--trust <key>... | --dev] [--json]',
    '      every check; names each failure and what changed since the assembler signed. The assembler is trusted',
    '      from --trust, else from your keyring by the id the document names (never from a file in <dir> or the',
    '      current folder), or with --dev the development key a local build left in <dir>',
    '  mcp0 dist build <spec-dir> [--out <dir>] [--key <assembler.jwk>] [--publisher-key <key.jwk>]',
    '      compile each plugin source of <spec-dir>/dist.json, sign it, assemble, lock. Without --key a',
    '      DEVELOPMENT key is made (or reused, if only you can read it) at <out>/dev-key.jwk, 0600: never ship a',
    '      distribution signed by it; run or verify the build with --dev. In a plugin\'s "config", a string that',
    '      is exactly "$assembler" (at any depth) becomes the assembler key\'s id, e.g. the provider keys',
    '      mcp0.agreements accepts: "config": {"providers": ["$assembler"]}.',
    '',
    'Edits keep the old signature: until the next lock, verify fails and lists what changed.',
    'Exit codes: 0 success (verify: every check passed); 1 a failed check; 2 usage error or refused edit.',
  ].join('\n'),
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined || !Object.hasOwn(SUBCOMMANDS, sub)) {
      const got = sub === undefined ? 'none' : JSON.stringify(sub);
      throw new UsageError('EUSAGE', `expected a subcommand (${Object.keys(SUBCOMMANDS).join(', ')}), got ${got}\nusage: mcp0 dist ${this.usage}`);
    }
    const stray = Object.keys(args.values).filter((o) => args.values[o] !== undefined && !COMMON.includes(o) && !OPTIONS_OF[sub as Sub].includes(o));
    if (stray.length > 0)
      throw new UsageError(
        'EUSAGE',
        `mcp0 dist ${sub} does not take ${stray.map((o) => `--${o}`).join(', ')} (it takes ${OPTIONS_OF[sub as Sub].map((o) => `--${o}`).join(', ') || 'no options'})`,
      );
    const subArgs: Args = { positionals: rest, values: args.values };
    return SUBCOMMANDS[sub as Sub](subArgs, { ...this, usage: this.usage.replace(/^<[^>]*>/, sub) }, io);
  },
};
