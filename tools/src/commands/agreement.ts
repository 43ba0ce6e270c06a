/**
 * `mcp0 agreement`: make an agreement from a template, sign it (each party in turn), verify it, and
 * read the usage and invoices that `mcp0.agreements` keeps in a node's store. The parties are keys:
 * `new` takes each as a key id or a key file, and `verify --trust` checks that the provider is a
 * key you accept, as a node checks it against its operator's list. usage and invoice run the
 * plugin itself over the store's kv (its own exports compute the figures), so the CLI never
 * re-implements the plugin's arithmetic; they only read.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import {
  AgreementError,
  agreementTemplates,
  isKeyId,
  newAgreement,
  parseAgreement,
  publicKeyOf,
  readManifest,
  signAgreement,
  UsageError,
  verifyAgreement,
  type AgreementParty,
  type CborValue,
  type PublicKey,
} from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import type { RoleClient, Store } from '@mcp0/sdk';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { DEFAULT_DIST, DEFAULT_STORE } from '../defaults.js';
import { announce, assemblerTrust, isKeyPath, readKey, readPrivateKey, trustedKeys } from '../trust.js';
import { assertStoreExists } from './trace/chain.js';
import { exactJson } from '../json-cbor.js';

const SUBCOMMANDS = ['new', 'sign', 'verify', 'usage', 'invoice'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/**
 * The `mcp0 agreement` command.
 * @example
 * await main(['agreement', 'verify', 'agreement.json', '--json'])
 */
export const agreement: Command = {
  name: 'agreement',
  summary: 'make, sign and verify agreements; read usage and invoices from a store',
  usage: '<new|sign|verify|usage|invoice> [options]',
  options: {
    template: { type: 'string', arg: '<name>', description: `new: the template (${agreementTemplates().join(', ')})` },
    consumer: { type: 'string', arg: '<key>', description: "new: the consumer's key: its key id, or a key file (public or private) whose id is used" },
    provider: {
      type: 'string',
      arg: '<key>',
      description: "new: the provider's key (another key than the consumer's): the key of the node's operator, as an id or a key file",
    },
    id: { type: 'string', arg: '<id>', description: 'new: the agreement id (default agr-<random>)' },
    set: {
      type: 'string',
      multiple: true,
      arg: '<key=value>',
      description:
        'new: override a member by dotted path; the value is JSON when it parses as JSON (numbers, true, ["a","b"]), else text, and validity times also take ISO 8601 dates: quotas.callsPerWindow=50, permissions.intents=\'["get"]\', validity.notAfter=2027-01-01',
    },
    out: { type: 'string', arg: '<file>', description: 'new: write here instead of stdout; sign: write here instead of in place' },
    key: { type: 'string', arg: '<jwk>', description: 'sign: the signing key (private JWK, mode 0600)' },
    party: { type: 'string', arg: '<consumer|provider>', description: "sign: which party signs (default: the party whose key id is the key's)" },
    store: { type: 'string', arg: '<uri>', description: `usage, invoice: the node's store (default ${DEFAULT_STORE}; also memory:, mongodb://host/db)` },
    window: { type: 'string', arg: '<time>', description: 'usage: a time inside the window to report (ms or ISO 8601; default now)' },
    period: { type: 'string', arg: '<from>..<to>', description: 'invoice: whole UTC hours, ms or ISO 8601, e.g. 2026-11-01..2026-12-01' },
    dist: {
      type: 'string',
      arg: '<dir>',
      description: `usage, invoice: the distribution whose mcp0.agreements plugin reads the store (default ${DEFAULT_DIST})`,
    },
    dev: { type: 'boolean', description: "usage, invoice: trust the development key a local build left in --dist's folder" },
    plugin: { type: 'string', arg: '<file.wasm>', description: "usage, invoice: a signed mcp0.agreements artifact to use instead of the distribution's" },
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description:
        "verify: a provider key you accept; usage, invoice: the distribution's assembler key, or with --plugin the key that signed it (a file path, or a key id in the keyring)",
    },
    keyring: {
      type: 'string',
      arg: '<dir>',
      description: 'verify, usage, invoice: where --trust key ids are looked up (default $MCP0_KEYRING or ~/.mcp0/keyring)',
    },
    json: { type: 'boolean', description: 'verify, usage, invoice: print the result as JSON' },
  },
  details: [
    'subcommands:',
    '  mcp0 agreement new --template <name> --consumer <key> --provider <key> [--id <id>] [--set key=value]… [--out <file>]',
    "      an unsigned agreement from a template, valid from now for the template's duration (stdout without --out).",
    '      Each party is a key, given by its id or a key file, and they are two different keys: the consumer is the',
    '      key that signs your agent modules (a node binds an agent only to an agreement of its signer), the',
    "      provider the key of the node's operator (a node registers only agreements with providers it accepts:",
    '      config.providers of mcp0.agreements; for a local build of distributions/standard, distributions/standard/build/dev-key.pub.jwk)',
    '  mcp0 agreement sign <file> --key <jwk> [--party consumer|provider] [--out <file>]',
    "      add one party's signature (Ed25519 over the RFC 8785 canonical JSON without signatures); run once per",
    "      party, each with its own key (the party is the one whose key id is the key's)",
    '  mcp0 agreement verify <file> [--trust <provider key>]... [--json]',
    '      check the schema, that the parties are two keys, and both signatures; with --trust, also that the',
    '      provider is one of those keys (EUNTRUSTED otherwise). Exit 1 when it fails',
    '  mcp0 agreement usage <consumer key id> [--window <time>] [--store <uri>] [--dist <dir>] [--json]',
    '  mcp0 agreement invoice <consumer key id> --period <from>..<to> [--store <uri>] [--dist <dir>] [--json]',
    '      (a key id that starts with "-" goes last, after --: mcp0 agreement usage --json -- -Xy…)',
    "      run the distribution's signed mcp0.agreements plugin (--dist, verified as mcp0 start does: --trust or --dev),",
    "      or --plugin <file.wasm> --trust <its signer>, over the store's kv (read only) and print its usage or invoice",
    '',
    "Amounts are integer minor units of the agreement's currency (cents for EUR); invoice totals are also shown in the currency's own units.",
  ].join('\n'),
  async run(args, io) {
    const [sub, ...rest] = args.positionals;
    if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      const got = sub === undefined ? 'none' : JSON.stringify(sub);
      throw new UsageError('EUSAGE', `expected a subcommand (${SUBCOMMANDS.join(', ')}), got ${got}\nusage: mcp0 agreement ${this.usage}`);
    }
    const subArgs: Args = { positionals: rest, values: args.values };
    const self: Command = { ...this, usage: this.usage.replace(/^<[^>]*>/, sub) };
    switch (sub as Sub) {
      case 'new':
        return create(subArgs, self, io);
      case 'sign':
        return sign(subArgs, self, io);
      case 'verify':
        return verify(subArgs, self, io);
      case 'usage':
        return usage(subArgs, self, io);
      case 'invoice':
        return invoice(subArgs, self, io);
    }
  },
};

/** `key=value` pairs of --set. */
function overrides(args: Args): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of listOption(args, 'set')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError('EUSAGE', `--set: expected key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const pretty = (v: unknown): string => `${exactJson(v, 2)}\n`;

/**
 * A party of `new`: a key id as it is, or a key file (the rule of trust.ts: a path has a "/" or
 * ends in .jwk/.json) whose key's id is used. The id only names the party: the party's signature
 * proves it later, so it is not looked up in the keyring. Anything else, an agent id such as
 * acme.notes above all, is refused: any key could sign for a party that is not a key.
 */
async function partyId(args: Args, party: AgreementParty, io: Io): Promise<string> {
  const value = stringOption(args, party, true);
  if (isKeyPath(value)) {
    if (!existsSync(value)) throw new UsageError('EUSAGE', `--${party} ${value}: no such file`, { reason: 'no-such-file', path: value });
    const kid = publicKeyOf(await readKey(value)).kid;
    io.err(`party: ${party} ${kid} from --${party} ${value}\n`);
    return kid;
  }
  if (isKeyId(value)) return value;
  throw new UsageError(
    'EUSAGE',
    `--${party}: expected the ${party}'s key id (43 base64url characters) or a key file path (containing "/" or ending in .jwk or .json), got ${JSON.stringify(value)}: the parties of an agreement are keys, never agent ids`,
    { reason: 'not-a-key-reference', party, expected: 'a key id or a key file', got: value },
  );
}

async function create(args: Args, self: Command, io: Io): Promise<number> {
  positionals(args, self, 0);
  const id = stringOption(args, 'id');
  const doc = newAgreement(stringOption(args, 'template', true), {
    consumer: await partyId(args, 'consumer', io),
    provider: await partyId(args, 'provider', io),
    ...(id === undefined ? {} : { id }),
    set: overrides(args),
  });
  const out = stringOption(args, 'out');
  if (out === undefined) io.out(pretty(doc));
  else {
    await writeFile(out, pretty(doc), { flag: 'wx' }).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError('EUSAGE', `--out ${out}: ${e.code === 'EEXIST' ? 'the file exists; refusing to overwrite it' : e.message}`);
    });
    io.out(`wrote agreement ${doc.id} (${doc.plan}, unsigned) to ${out}\n`);
  }
  return 0;
}

async function readDoc(file: string) {
  return parseAgreement(await readFile(file, 'utf8'));
}

async function sign(args: Args, self: Command, io: Io): Promise<number> {
  const [file] = positionals(args, self, 1);
  const key = await readPrivateKey(stringOption(args, 'key', true), '--key');
  const doc = await readDoc(file!);
  let party = stringOption(args, 'party') as AgreementParty | undefined;
  if (party !== undefined && party !== 'consumer' && party !== 'provider')
    throw new UsageError('EUSAGE', `--party: expected consumer or provider, got ${JSON.stringify(party)}`);
  if (party === undefined) {
    // The parties are two different keys, so a key is at most one of them.
    const match = (['consumer', 'provider'] as const).find((p) => doc[p] === key.kid);
    if (match === undefined) {
      throw new UsageError(
        'EUSAGE',
        `--key: expected the consumer's or the provider's key, got ${key.kid} (consumer ${doc.consumer}, provider ${doc.provider}): each party signs with its own key`,
        { reason: 'not-a-party', expected: [doc.consumer, doc.provider], got: key.kid },
      );
    }
    party = match;
  }
  const signed = signAgreement(doc, key, party);
  const out = stringOption(args, 'out') ?? file!;
  await writeFile(out, pretty(signed));
  const missing = (['consumer', 'provider'] as const).filter((p) => !signed.signatures!.some((s) => s.party === p));
  io.out(
    `signed agreement ${doc.id} as the ${party} with ${key.kid}: ${out}${missing.length ? ` (still needs the ${missing[0]}'s signature)` : ' (signed by both parties)'}\n`,
  );
  return 0;
}

/**
 * With --trust, refuses an agreement whose provider is none of the keys given (EUNTRUSTED naming
 * the provider and the keys): what a node's `config.providers` does, checked before registering.
 * Returns whether the provider was checked.
 */
async function checkProvider(args: Args, io: Io, id: string, providerKey: string): Promise<boolean> {
  const given = listOption(args, 'trust');
  if (given.length === 0) {
    io.err('note: no --trust: the signatures verify, but whether the provider is a key you accept was not checked\n');
    return false;
  }
  const trusted = await trustedKeys(given, '--trust', stringOption(args, 'keyring'));
  announce(io, 'provider', trusted);
  if (!trusted.some((t) => t.key.kid === providerKey)) {
    const list = trusted.map((t) => `${t.key.kid} (${t.source})`).join(', ');
    throw new AgreementError('EUNTRUSTED', `agreement ${id}: expected a provider you trust (${list}), got ${providerKey}`, {
      expected: trusted.map((t) => t.key.kid),
      got: providerKey,
    });
  }
  return true;
}

async function verify(args: Args, self: Command, io: Io): Promise<number> {
  const [file] = positionals(args, self, 1);
  const { agreement: doc, consumerKey, providerKey } = verifyAgreement(await readDoc(file!));
  const providerTrusted = await checkProvider(args, io, doc.id, providerKey);
  const result = { ok: true, id: doc.id, consumer: doc.consumer, provider: doc.provider, consumerKey, providerKey, providerTrusted, validity: doc.validity };
  if (args.values.json) io.out(`${JSON.stringify(result)}\n`);
  else
    io.out(
      `agreement ${doc.id}: both signatures verify\n  consumer ${doc.consumer} signed by ${consumerKey}\n  provider ${doc.provider} signed by ${providerKey}${providerTrusted ? ', a key you trust' : ''}\n  valid ${new Date(doc.validity.notBefore).toISOString()} to ${new Date(doc.validity.notAfter).toISOString()}\n`,
    );
  return 0;
}

/**
 * A time given as ms since the epoch or an ISO 8601 date.
 * @example
 * parseTime('2027-01-01', '--window') // 1798761600000
 */
export function parseTime(text: string, what: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new UsageError('EUSAGE', `${what}: expected ms since the epoch or an ISO 8601 date, got ${JSON.stringify(text)}`);
  return ms;
}

/**
 * The plugin artifact, the keys to trust for it and its config: --plugin with --trust, or the
 * signed plugin that provides mcp0.agreements@1 in the distribution (verified against its
 * assembler, as `mcp0 start` does), so the plugin that reads the store is the one the node ran.
 */
async function pluginArtifact(args: Args, io: Io): Promise<{ bytes: Uint8Array; trust: PublicKey[]; config?: CborValue }> {
  const file = stringOption(args, 'plugin');
  if (file !== undefined) {
    if (args.values.dev === true || stringOption(args, 'dist') !== undefined)
      throw new UsageError('EUSAGE', '--plugin replaces the distribution: give --plugin with --trust, or --dist (with --trust or --dev), not both');
    const trusted = await trustedKeys(listOption(args, 'trust'), '--trust', stringOption(args, 'keyring'));
    if (trusted.length === 0) throw new UsageError('EUSAGE', '--plugin needs --trust: the key its publisher signed it with');
    announce(io, 'publisher of --plugin', trusted);
    return { bytes: new Uint8Array(await readFile(file)), trust: trusted.map((t) => t.key) };
  }
  const dir = stringOption(args, 'dist') ?? DEFAULT_DIST;
  if (!existsSync(dir))
    throw new UsageError(
      'EUSAGE',
      `--dist ${dir}: no such directory (build the standard one with: mcp0 dist build distributions/standard; or give --plugin <file.wasm> --trust <key>)`,
    );
  const { ROLES, loadDistribution } = await import('@mcp0/sdk');
  const distribution = await loadDistribution(dir, { trust: await assemblerTrust(args, dir, io) });
  const plugin = distribution.plugins.find((p) => readManifest(p.bytes).provides?.includes(ROLES.agreements));
  if (!plugin)
    throw new UsageError(
      'EUSAGE',
      `--dist ${dir}: no plugin provides ${ROLES.agreements} (it has ${distribution.plugins.map((p) => p.name).join(', ') || 'none'}): give --plugin <file.wasm> --trust <key>`,
    );
  return { bytes: plugin.bytes, trust: distribution.publishers, ...(plugin.config === undefined ? {} : { config: plugin.config }) };
}

/** Runs `use` with a typed client of the agreements role, its plugin running over the store's kv. */
async function withAgreements<T>(args: Args, io: Io, use: (agreements: RoleClient<'agreements'>) => Promise<T>): Promise<T> {
  const uri = stringOption(args, 'store') ?? DEFAULT_STORE;
  assertStoreExists(uri);
  const { bytes, trust, config } = await pluginArtifact(args, io);
  const store: Store = await (await import('@mcp0/sdk')).openStore(uri);
  const kernel = new Kernel({ trust, providers: { kv: store.kv } });
  try {
    // MongoDB answers kv asynchronously, which only the worker tier can wait for (ABI.md §4).
    await kernel.load(bytes, {
      isolation: uri.startsWith('mongodb') ? 'worker' : 'inline',
      grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }],
      ...(config === undefined ? {} : { config }),
    });
    const { name } = readManifest(bytes);
    return await use((await import('@mcp0/sdk')).roleClient('agreements', (e, v) => kernel.callValue(name, e, v)));
  } finally {
    await kernel.stop();
    await store.close();
  }
}

async function usage(args: Args, self: Command, io: Io): Promise<number> {
  const [consumer] = positionals(args, self, 1);
  const window = stringOption(args, 'window');
  const u = await withAgreements(args, io, (agreements) =>
    agreements.usage({ consumer: consumer!, ...(window === undefined ? {} : { window: parseTime(window, '--window') }) }),
  );
  if (args.values.json) {
    io.out(`${exactJson(u)}\n`);
    return 0;
  }
  const lines = [`usage of ${u.consumer} at ${new Date(u.time).toISOString()} (stored bytes: ${u.storageBytes})`];
  if (u.agreements.length === 0) lines.push('  no agreements');
  for (const a of u.agreements) {
    const of = (n: number | bigint, limit: number | bigint | undefined) => `${n}${limit === undefined ? '' : `/${limit}`}`;
    lines.push(
      `  ${a.id}${a.revoked ? ' (revoked)' : ''}: window from ${new Date(a.windowStart).toISOString()} (${a.windowMs} ms): calls ${of(a.admitted, a.limits.callsPerWindow)}, cost units ${of(a.costUnits, a.limits.costUnitsPerWindow)}, bytes in ${a.bytesIn} out ${a.bytesOut}, in flight ${of(a.inFlight, a.limits.maxConcurrent)}`,
    );
  }
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

const HOUR_MS = 3_600_000;

/**
 * An amount in minor units as the currency writes it (586 EUR → "5.86", 586 JPY → "586"), exact for
 * any size: the digits are moved, never divided. Unknown codes keep two decimals.
 * @example
 * money(586, 'EUR') // '5.86'
 */
function money(minor: number | bigint, currency: string): string {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // not an ISO 4217 code: keep two decimals
  }
  const negative = BigInt(minor) < 0n;
  const text = (negative ? -BigInt(minor) : BigInt(minor)).toString().padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits);
  return `${negative ? '-' : ''}${whole}${digits > 0 ? `.${text.slice(text.length - digits)}` : ''}`;
}

async function invoice(args: Args, self: Command, io: Io): Promise<number> {
  const [consumer] = positionals(args, self, 1);
  const period = stringOption(args, 'period', true);
  const parts = period.split('..');
  if (parts.length !== 2) throw new UsageError('EUSAGE', `--period: expected <from>..<to>, got ${JSON.stringify(period)}`);
  const from = parseTime(parts[0]!, '--period from');
  const to = parseTime(parts[1]!, '--period to');
  // The plugin refuses these too (EINPUT, exit 1); they are the user's typing, so usage errors here.
  if (from % HOUR_MS !== 0 || to % HOUR_MS !== 0)
    throw new UsageError('EUSAGE', `--period: invoices cover whole UTC hours, got ${new Date(from).toISOString()}..${new Date(to).toISOString()}`);
  if (from >= to)
    throw new UsageError('EUSAGE', `--period: the start must come before the end, got ${new Date(from).toISOString()}..${new Date(to).toISOString()}`);
  const inv = await withAgreements(args, io, (agreements) => agreements.invoice({ consumer: consumer!, from, to }));
  if (args.values.json) {
    // Amounts past 2^53 come back as bigint: printed as JSON numbers, digits exact.
    io.out(`${exactJson(inv)}\n`);
    return 0;
  }
  const rows = [`invoice for ${inv.consumer}, ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`];
  for (const l of inv.lines)
    rows.push(
      `  ${l.agreement.padEnd(24)} ${l.item.padEnd(10)} ${String(l.quantity).padStart(12)} × ${String(l.unitPrice).padStart(10)} = ${String(l.amount).padStart(14)} ${l.currency}`,
    );
  if (inv.lines.length === 0) rows.push('  nothing to invoice');
  for (const t of inv.totals) rows.push(`  total ${money(t.amount, t.currency).padStart(14)} ${t.currency} (${t.amount} minor units)`);
  io.out(`${rows.join('\n')}\n`);
  return 0;
}
