/**
 * `mcp0 dist build`: a distribution from a source spec. Each plugin is compiled with the plugin
 * build, signed by the publisher key and added with its grants and its config (where `"$assembler"`
 * becomes the assembler key's id); then the pipeline is set and the distribution locked and signed
 * by the assembler key. Without --key a DEVELOPMENT key is made at <out>/dev-key.jwk (and reused
 * by later builds, so the output stays byte-for-byte the same). Each plugin's unsigned build is
 * kept in <out>/.cache and reused while its sources, the compiler and the flags are unchanged, so
 * an up-to-date distribution rebuilds in well under a second rather than compiling every plugin.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { UsageError, formatJwk, generateKeyPair, signModule, toJwk, type PrivateKey } from '@mcp0/abi';
import { buildPlugin } from '@mcp0/builder';
import { type Args, type Command, type Io, positionals, stringOption } from '../../command.js';
import { DEV_KEY_FILE, DEV_PUBLIC_KEY_FILE, readPrivateKey } from '../../trust.js';
import { readSpec, resolveConfig } from './spec.js';

const sdk = () => import('@mcp0/sdk');

const DEV_NOTE = 'DEVELOPMENT KEY made by mcp0 dist build: it signs the plugins and the distribution of a local build. Never sign anything you ship with it.';

/**
 * The development key in `out`: the existing one (refused when others can read it), or a new one
 * marked as such. Its public half is (re)written beside it each time, so what `--dev` trusts is
 * always the key this build signed with.
 */
async function devKey(out: string): Promise<{ key: PrivateKey; created: boolean }> {
  const path = join(out, DEV_KEY_FILE);
  const created = !existsSync(path);
  let key: PrivateKey;
  if (created) {
    key = generateKeyPair();
    // Created 0600 ('wx': a new file, so the mode applies; a umask can only narrow it).
    await writeFile(path, `${JSON.stringify({ ...toJwk(key), 'mcp0:note': DEV_NOTE }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  } else key = await readPrivateKey(path, 'the development key');
  const pub = join(out, DEV_PUBLIC_KEY_FILE);
  const text = `${JSON.stringify({ ...JSON.parse(formatJwk(key.publicKey)), 'mcp0:note': DEV_NOTE }, null, 2)}\n`;
  if (!existsSync(pub) || (await readFile(pub, 'utf8')) !== text) await writeFile(pub, text, { mode: 0o644 });
  // A public key others could rewrite is a planted-key risk: 0644 whatever the umask or the old mode.
  await chmod(pub, 0o644);
  return { key, created };
}

/**
 * `mcp0 dist build <spec-dir> [--out d] [--key k] [--publisher-key k]`.
 * @example
 * await build({ positionals: ['distributions/standard'], values: {} }, dist, io)
 */
export async function build(args: Args, self: Command, io: Io): Promise<number> {
  const [specDir] = positionals(args, self, 1);
  const spec = await readSpec(specDir!);
  const out = stringOption(args, 'out') ?? join(specDir!, 'build');
  await mkdir(out, { recursive: true });
  const keyPath = stringOption(args, 'key');
  const dev = keyPath === undefined ? await devKey(out) : undefined;
  const assembler = dev?.key ?? (await readPrivateKey(keyPath!, '--key'));
  const publisherPath = stringOption(args, 'publisher-key');
  const publisher = publisherPath === undefined ? assembler : await readPrivateKey(publisherPath, '--publisher-key');
  const say = (text: string) => {
    if (args.values.quiet !== true) io.out(text);
  };

  const dist = await sdk();
  // A build starts from nothing but the key: no plugin of an earlier build may linger.
  await rm(join(out, dist.PLUGINS_DIR), { recursive: true, force: true });
  await rm(join(out, dist.DISTRIBUTION_FILE), { force: true });
  await dist.createDistribution(out, { name: spec.name, version: spec.version, assembler: assembler.publicKey });
  if (spec.budgets) await dist.writeDistribution(out, { ...(await dist.readDistribution(out)), budgets: spec.budgets });

  // Unsigned builds are kept in <out>/.cache, one per plugin source, and reused while nothing
  // they were built from changed (--force compiles them all).
  const cache = join(out, '.cache');
  for (const plugin of spec.plugins) {
    if (!existsSync(join(plugin.source, 'plugin.json')))
      throw new UsageError('EUSAGE', `plugin source ${relative(process.cwd(), plugin.source) || '.'} has no plugin.json`);
    const cached = join(cache, `${createHash('sha256').update(resolve(plugin.source)).digest('hex').slice(0, 16)}.wasm`);
    const built = await buildPlugin(plugin.source, { out: cached, incremental: args.values.force !== true });
    const entry = await dist.addPlugin(out, signModule(built.wasm, publisher), {
      grants: plugin.grants,
      publishers: [publisher.publicKey],
      ...(plugin.isolation ? { isolation: plugin.isolation } : {}),
      // The assembler is the node's operator: "$assembler" names its key (e.g. the provider mcp0.agreements accepts).
      ...(plugin.config ? { config: resolveConfig(plugin.config, { assembler: assembler.kid }) } : {}),
      ...(plugin.preempt !== undefined ? { preempt: plugin.preempt } : {}),
    });
    say(
      `${built.reused ? 'up to date' : 'built'} ${entry.name}@${entry.version} → ${join(out, entry.file)} (${entry.isolation}, grants: ${entry.grants.join(', ') || 'none'})\n`,
    );
  }
  await dist.setPipeline(out, spec.pipeline);
  const doc = await dist.lockDistribution(out, assembler);
  say(
    `locked ${doc.name}@${doc.version} in ${out}/ (pipeline: admit [${doc.pipeline.admit.join(', ')}] → execute → observe [${doc.pipeline.observe.join(', ')}]), signed by ${assembler.kid}\n`,
  );
  if (dev)
    say(
      `${dev.created ? 'made' : 'used'} the DEVELOPMENT key ${join(out, DEV_KEY_FILE)}: not for a distribution you ship; run or verify this build with --dev (or --trust ${join(out, DEV_PUBLIC_KEY_FILE)})\n`,
    );
  return 0;
}
