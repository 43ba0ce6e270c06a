/** `mcp0 dist lock|verify`: pin and sign a distribution, and check one (the exit code is the verdict). */
import { UsageError, readKeyFile, type PublicKey } from '@mcp0/abi';
import type { DistributionReport } from '@mcp0/sdk';
import { type Args, type Command, type Io, listOption, positionals, stringOption } from '../../command.js';
import { resolveTrust } from '../../keyring.js';

const sdk = () => import('@mcp0/sdk');

/**
 * `mcp0 dist lock <dir> --key <assembler.jwk>`.
 * @example
 * await lock({ positionals: ['my-dist'], values: { key: 'me.jwk' } }, dist, io)
 */
export async function lock(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  const key = await readKeyFile(stringOption(args, 'key', true));
  if (key.type !== 'private') throw new UsageError('EUSAGE', `--key: expected the assembler's private key (with "d"), got public key ${key.kid}`);
  const doc = await (await sdk()).lockDistribution(dir!, key);
  io.out(`locked ${doc.name}@${doc.version}: ${doc.plugins.length} plugin${doc.plugins.length === 1 ? '' : 's'} pinned, signed by ${key.kid}\n`);
  return 0;
}

/** --trust, or else the document's own assembler key id looked up in the keyring. */
async function trustFor(args: Args, dir: string): Promise<PublicKey[] | undefined> {
  const values = listOption(args, 'trust');
  const keyring = stringOption(args, 'keyring');
  if (values.length > 0) return resolveTrust(values, keyring);
  let kid: string;
  try {
    kid = (await (await sdk()).readDistribution(dir)).assembler.kid;
  } catch {
    // Unreadable: verify reports why; trust does not matter then.
    return undefined;
  }
  try {
    return await resolveTrust([kid], keyring);
  } catch (e) {
    throw new UsageError('EUSAGE', `the assembler ${kid} is not in your keyring: pass --trust <its public key file> (trust comes from you, never from the distribution)`, { kid }, { cause: e });
  }
}

function summary(report: DistributionReport): string {
  const doc = report.document!;
  const rows = report.plugins.map((p) => `  ${`${p.entry.name}@${p.entry.version}`.padEnd(28)} ${p.entry.isolation.padEnd(6)} sha256 ${p.entry.sha256.slice(0, 12)}…  grants ${p.entry.grants.join(', ') || 'none'}`);
  return [
    `ok: distribution ${doc.name}@${doc.version} is signed by trusted assembler ${report.assembler}`,
    ...rows,
    `  pipeline: admit [${doc.pipeline.admit.join(', ')}] → execute → observe [${doc.pipeline.observe.join(', ')}]`,
    `  every plugin matches its locked sha256 and is signed by a listed publisher (${doc.publishers.map((k) => k.kid).join(', ')})`,
    '',
  ].join('\n');
}

/**
 * `mcp0 dist verify <dir> [--trust k]... [--json]`: exit 0 when every check passes, 1 listing each failure.
 * @example
 * const code = await verify({ positionals: ['my-dist'], values: { trust: ['me.pub.jwk'] } }, dist, io)
 */
export async function verify(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  const trust = await trustFor(args, dir!);
  const { checkDistribution } = await sdk();
  // With no readable document there is nothing to trust; any key lets the checks report why.
  const report = await checkDistribution(dir!, trust ? { trust } : { trustEmbeddedDevKey: true });
  if (args.values.json) {
    const plugins = report.plugins.map((p) => ({ name: p.entry.name, version: p.entry.version, sha256: p.entry.sha256, signers: p.signers }));
    io.out(`${JSON.stringify({ ok: report.ok, ...(report.document ? { name: report.document.name, version: report.document.version } : {}), ...(report.assembler ? { assembler: report.assembler } : {}), plugins, problems: report.problems })}\n`);
  }
  if (report.ok) {
    if (!args.values.json) io.out(summary(report));
    return 0;
  }
  const n = report.problems.length;
  io.err([`verify failed: ${n} problem${n === 1 ? '' : 's'} in ${dir}`, ...report.problems.map((p) => `  [${p.check}] ${p.code}: ${p.message}`), ''].join('\n'));
  return 1;
}
