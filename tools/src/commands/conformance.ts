/**
 * `mcp0 conformance`: run the conformance suites against a plugin or a distribution, print the
 * table, write the JSON and HTML reports, and exit with the verdict. With --budgets (distributions),
 * the example agents are built from the repository, signed with a throwaway key and driven by the
 * reference workload.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, generateKeyPair, hex, readSignatures, signModule, wasmsign2KeyId, type PublicKey } from '@mcp0/abi';
import { buildPlugin } from '@mcp0/builder';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../command.js';
import { keyringEntries } from '../keyring.js';
import { DIST_TRUST_OPTIONS, announce, assemblerTrust, trustedKeys, type TrustedKey } from '../trust.js';

const conformance = () => import('@mcp0/conformance');

/** The example agents the reference workload drives, built from this repository. */
async function referenceAgents() {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const key = generateKeyPair();
  const agents = [];
  for (const name of ['memory', 'counter']) {
    const built = await buildPlugin(join(root, 'agents', name));
    agents.push({ name, bytes: signModule(built.wasm, key) });
  }
  return { agents, trust: [key.publicKey] };
}

/**
 * A plugin's publisher keys: --trust, else the keyring's keys that signed it (matched by their
 * wasmsign2 key ids). Never a key from beside the artifact.
 */
async function publisherTrust(args: Args, file: string, io: Io): Promise<PublicKey[]> {
  if (args.values.dev === true)
    throw new UsageError(
      'EUSAGE',
      "--dev trusts a development build's assembler key: it is for a distribution directory; for a plugin pass --trust <publisher key>",
    );
  const given = listOption(args, 'trust');
  const keyring = stringOption(args, 'keyring');
  let keys: TrustedKey[];
  if (given.length > 0) keys = await trustedKeys(given, '--trust', keyring);
  else {
    let ids = new Set<string>();
    try {
      ids = new Set(readSignatures(new Uint8Array(await readFile(file))).flatMap((set) => set.signatures.map((sig) => sig.keyId ?? '')));
    } catch {
      // A malformed signature section: the signature case reports it, with nothing trusted.
    }
    keys = (await keyringEntries(keyring)).entries
      .filter((e) => ids.has(hex(wasmsign2KeyId(e.key))))
      .map((e) => ({ key: e.key, source: `keyring entry ${e.id} (${e.file})` }));
    if (keys.length === 0) io.err("trust: no publisher key: none of the module's signers is in your keyring; pass --trust <publisher key>\n");
  }
  announce(io, 'publisher', keys);
  return keys.map((k) => k.key);
}

function coreFactor(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (!(x > 0 && Number.isFinite(x))) throw new UsageError('EUSAGE', `--core-factor: expected a positive number, got ${JSON.stringify(text)}`);
  return x;
}

export const conformanceCommand: Command = {
  name: 'conformance',
  summary: 'run the ABI, role and budget suites against a plugin or a distribution',
  usage:
    '<plugin.wasm | distribution-dir> [--trust <key>... | --dev] [--json] [--out <file>] [--html <file>] [--budgets [--store <uri>]] [--quick] [--core-factor <x>]',
  options: {
    json: { type: 'boolean', description: 'print the JSON report on stdout instead of the table, as --json does in every command' },
    out: { type: 'string', arg: '<file>', description: 'write the JSON report to this file (schema: conformance/report.schema.json)' },
    html: { type: 'string', arg: '<file>', description: 'write a self-contained HTML report here' },
    budgets: { type: 'boolean', description: 'distributions: run the reference workload against the hardware gates' },
    quick: { type: 'boolean', description: 'leave slow cases out and run a short workload (for tests and CI)' },
    'core-factor': { type: 'string', arg: '<x>', description: 'how much slower the reference core (2.4 GHz i3) is than one core here (default 1.8)' },
    store: {
      type: 'string',
      arg: '<uri>',
      description:
        "--budgets: run the workload's node on this store (mongodb://host/db, lmdb:<dir>; it must hold no agents). Default: a temporary LMDB directory",
    },
    ...DIST_TRUST_OPTIONS,
    trust: {
      type: 'string',
      multiple: true,
      arg: '<key>',
      description:
        "a plugin's publisher key, or a distribution's assembler key: a file path (with a / or ending .jwk/.json) or a key id in the keyring; default: the keyring",
    },
  },
  details: [
    'A plugin gets the ABI suite (signature, manifest, imports, version marker, init and stop, determinism,',
    'denied capabilities, hostile input, memory cap, timeout) and the role suites its manifest provides.',
    'A distribution gets its own verification, the same for every plugin in it, and with --budgets the',
    'reference workload (conformance/README.md) against CPU < 27% of the reference core, RSS peak < 827 MB',
    "and RSS average < 640 MB. The workload's node runs on a temporary LMDB store, or on --store <uri> (an empty",
    'store: a fresh MongoDB database, say: mongodb://host/db).',
    '',
    "Trust: --trust, else the keyring (a plugin's signers; a distribution's named assembler), or --dev for the",
    'development key a local build left in the distribution folder. The keys trusted, and from where, go to stderr.',
    '',
    'Exit codes: 0 every case passed and every gate held; 1 something failed (the table names it);',
    '2 usage error.',
  ].join('\n'),
  async run(args, io) {
    if (args.values.json === true && args.positionals.length === 2 && args.positionals[1]!.endsWith('.json')) {
      throw new UsageError('EUSAGE', `--json prints the report on stdout; to write it to ${args.positionals[1]}, give --out ${args.positionals[1]}`);
    }
    const [target] = positionals(args, this, 1);
    if (!existsSync(target!)) throw new UsageError('EUSAGE', `${target}: no such file or directory`);
    const isDist = statSync(target!).isDirectory();
    const quick = args.values.quick === true;
    const factor = coreFactor(stringOption(args, 'core-factor'));
    if (args.values.budgets === true && !isDist) throw new UsageError('EUSAGE', '--budgets runs a workload on a distribution: give a distribution directory');
    const store = stringOption(args, 'store');
    if (store !== undefined && args.values.budgets !== true) throw new UsageError('EUSAGE', '--store names the store of the --budgets workload: add --budgets');
    const c = await conformance();
    const progress = (text: string) => io.err(`${text}\n`);
    const report = isDist
      ? await c.runConformance(
          { kind: 'distribution', dir: target!, trust: await assemblerTrust(args, target!, io) },
          {
            quick,
            onProgress: progress,
            ...(args.values.budgets === true
              ? { budgets: { ...(await referenceAgents()), ...(factor ? { coreFactor: factor } : {}), ...(store ? { store } : {}) } }
              : {}),
          },
        )
      : await c.runConformance({ kind: 'plugin', file: target!, trust: await publisherTrust(args, target!, io) }, { quick, onProgress: progress });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    io.out(args.values.json === true ? json : c.renderTable(report));
    const out = stringOption(args, 'out');
    if (out) await writeFile(out, json);
    const html = stringOption(args, 'html');
    if (html) await writeFile(html, c.renderHtml(report));
    return report.verdict === 'pass' ? 0 : 1;
  },
};
