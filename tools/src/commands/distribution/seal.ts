/** `mcp0 dist lock|verify`: pin and sign a distribution, and check one (the exit code is the verdict). */
import type { DistributionReport } from '@mcp0/sdk';
import { type Args, type Command, type Io, positionals, stringOption } from '../../command.js';
import { assemblerTrust, readPrivateKey, thumbprints } from '../../trust.js';

const sdk = () => import('@mcp0/sdk');

/**
 * `mcp0 dist lock <dir> --key <assembler.jwk>`.
 * @example
 * await lock({ positionals: ['my-dist'], values: { key: 'me.jwk' } }, dist, io)
 */
export async function lock(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  const key = await readPrivateKey(stringOption(args, 'key', true), "--key (the assembler's private key)");
  const doc = await (await sdk()).lockDistribution(dir!, key);
  io.out(`locked ${doc.name}@${doc.version}: ${doc.plugins.length} plugin${doc.plugins.length === 1 ? '' : 's'} pinned, signed by ${key.kid}\n`);
  return 0;
}

function summary(report: DistributionReport): string {
  const doc = report.document!;
  const rows = report.plugins.map(
    (p) =>
      `  ${`${p.entry.name}@${p.entry.version}`.padEnd(28)} ${p.entry.isolation.padEnd(6)} sha256 ${p.entry.sha256.slice(0, 12)}…  grants ${p.entry.grants.join(', ') || 'none'}`,
  );
  return [
    `ok: distribution ${doc.name}@${doc.version} is signed by trusted assembler ${report.assembler}`,
    ...rows,
    `  pipeline: admit [${doc.pipeline.admit.join(', ')}] → execute → observe [${doc.pipeline.observe.join(', ')}]`,
    `  every plugin matches its locked sha256 and is signed by a listed publisher (${doc.publishers.map((k) => k.kid).join(', ')})`,
    '',
  ].join('\n');
}

/**
 * `mcp0 dist verify <dir> [--trust k... | --dev] [--json]`: exit 0 when every check passes, 1 listing each failure.
 * @example
 * const code = await verify({ positionals: ['my-dist'], values: { trust: ['me.pub.jwk'] } }, dist, io)
 */
export async function verify(args: Args, self: Command, io: Io): Promise<number> {
  const [dir] = positionals(args, self, 1);
  // --trust, --dev, or the assembler the document names found in the keyring (never on disk beside it).
  const trust = await assemblerTrust(args, dir!, io);
  const { checkDistribution } = await sdk();
  const report = await checkDistribution(dir!, { trust });
  if (args.values.json) {
    const plugins = report.plugins.map((p) => ({ name: p.entry.name, version: p.entry.version, sha256: p.entry.sha256, signers: p.signers }));
    io.out(
      `${JSON.stringify({ ok: report.ok, ...(report.document ? { name: report.document.name, version: report.document.version } : {}), ...(report.assembler ? { assembler: report.assembler } : {}), plugins, problems: report.problems })}\n`,
    );
  }
  if (report.ok) {
    if (!args.values.json) io.out(summary(report));
    return 0;
  }
  const n = report.problems.length;
  const keyring = stringOption(args, 'keyring');
  const rows = await Promise.all(report.problems.map(async (p) => `  [${p.check}] ${p.code}: ${await thumbprints(p.message, keyring, trust)}`));
  io.err([`verify failed: ${n} problem${n === 1 ? '' : 's'} in ${dir}`, ...rows, ''].join('\n'));
  return 1;
}
