/**
 * `mcp0 keyring`: list, add and remove the public keys an operator trusts by id (../keyring.ts).
 * The keyring is one of the three places trust may come from (with --trust and --dev), so what is
 * in it must be visible and easy to take back.
 */
import { basename } from 'node:path';
import { UsageError, publicKeyOf } from '@mcp0/abi';
import { type Args, type Command, type Io, positionals, stringOption } from '../command.js';
import { addToKeyring, keyringEntries, removeFromKeyring } from '../keyring.js';
import { readKey } from '../trust.js';

const SUBCOMMANDS = ['list', 'add', 'remove'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/** The options each subcommand reads: another subcommand's option is a mistake worth saying. */
const OPTIONS_OF: Record<Sub, readonly string[]> = { list: ['keyring', 'json'], add: ['keyring', 'label'], remove: ['keyring'] };

async function list(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const { dir, entries, broken } = await keyringEntries(stringOption(args, 'keyring'));
  if (args.values.json === true) {
    io.out(`${JSON.stringify(entries.map((e) => ({ id: e.id, ...(e.label ? { label: e.label } : {}), file: e.file, type: e.type })))}\n`);
  } else if (entries.length === 0) io.out(`no keys in the keyring ${dir}\n`);
  else {
    const rows = entries.map(
      (e) =>
        `${e.id}  ${(e.label ?? '-').padEnd(20)} ${e.type === 'private' ? 'PRIVATE (a private key does not belong here: remove it)' : 'public '}  ${e.file}`,
    );
    io.out(`keyring ${dir}: ${entries.length} key${entries.length === 1 ? '' : 's'} trusted by id\n${rows.join('\n')}\n`);
  }
  // Files that are ignored are worth knowing about: a typo, a broken copy, an unsafe mode.
  for (const b of broken) io.err(`ignored ${b.file}: ${b.reason}\n`);
  return 0;
}

async function add(args: Args, self: Command, io: Io): Promise<number> {
  const [file] = positionals(args, self, 1);
  const key = await readKey(file!);
  const label = stringOption(args, 'label') ?? basename(file!).replace(/\.jwk$/, '');
  const path = await addToKeyring(publicKeyOf(key), stringOption(args, 'keyring'), label);
  io.out(
    `added ${key.kid} (${label}) to the keyring: ${path}${key.type === 'private' ? ' (its public half only)' : ''}\nkey id ${key.kid} is now trusted wherever it is given by id; take it out with: mcp0 keyring remove ${key.kid}\n`,
  );
  return 0;
}

async function remove(args: Args, self: Command, io: Io): Promise<number> {
  const [kid] = positionals(args, self, 1);
  const files = await removeFromKeyring(kid!, stringOption(args, 'keyring'));
  io.out(`removed ${kid} from the keyring: ${files.join(', ')}\n`);
  return 0;
}

/**
 * The `mcp0 keyring` command, registered in cli.ts.
 * @example
 * await main(['keyring', 'remove', 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'])
 */
export const keyring: Command = {
  name: 'keyring',
  summary: 'list, add or remove the public keys you trust by id',
  usage: '<list|add|remove> [args] [--keyring <dir>]',
  options: {
    keyring: { type: 'string', arg: '<dir>', description: 'the keyring (default $MCP0_KEYRING or ~/.mcp0/keyring)' },
    json: { type: 'boolean', description: 'list: print the entries as JSON ([{id, label, file, type}])' },
    label: { type: 'string', arg: '<text>', description: 'add: a label for the key (default: the file name)' },
  },
  details: [
    'subcommands:',
    '  mcp0 keyring list [--json]              every key: id (RFC 7638 thumbprint), label, public or PRIVATE, file',
    '  mcp0 keyring add <public key file> [--label <text>]',
    '      trust this key by id from now on (a private key file adds its public half)',
    '  mcp0 keyring remove <key id>            stop trusting it: removes every entry holding that key',
    '      (an id starting with "-": mcp0 keyring remove -- <id>)',
    '',
    'A key id given to --trust (or named by a distribution) is looked up here and nowhere else. Entries,',
    'and the keyring directory, that others can write are refused, as ssh refuses such an authorized_keys.',
    'Exit codes: 0 success; 1 remove found no such key; 2 usage error.',
  ].join('\n'),
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      const got = sub === undefined ? 'none' : JSON.stringify(sub);
      throw new UsageError('EUSAGE', `expected a subcommand (${SUBCOMMANDS.join(', ')}), got ${got}\nusage: mcp0 keyring ${this.usage}`);
    }
    const stray = Object.keys(args.values).filter((o) => args.values[o] !== undefined && !['help', 'debug'].includes(o) && !OPTIONS_OF[sub as Sub].includes(o));
    if (stray.length > 0) throw new UsageError('EUSAGE', `mcp0 keyring ${sub} does not take ${stray.map((o) => `--${o}`).join(', ')}`);
    const subArgs: Args = { positionals: rest, values: args.values };
    const self: Command = { ...this, usage: this.usage.replace(/^<[^>]*>/, sub) };
    switch (sub as Sub) {
      case 'list':
        return list(subArgs, self, io);
      case 'add':
        return add(subArgs, self, io);
      case 'remove':
        return remove(subArgs, self, io);
    }
  },
};
