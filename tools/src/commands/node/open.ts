/**
 * Opening a node from the command line, shared by `mcp0 start` and `mcp0 agent`: the distribution
 * (verified against --trust, or against the development key a local `mcp0 dist build` left next to
 * it), the store, and the keys trusted to sign agents.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError, type PublicKey } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { type Args, type Io, type OptionSpec, listOption, stringOption } from '../../command.js';
import { resolveTrust } from '../../keyring.js';
import { DEFAULT_STORE } from '../trace.js';

/** The distribution the node runs unless told otherwise: the standard one, as `npm start` builds it. */
export const DEFAULT_DIST = 'dist/standard/build';
const DEV_PUBLIC_KEY = 'dev-key.pub.jwk';

/** The options of every command that opens a node. */
export const NODE_OPTIONS: Record<string, OptionSpec> = {
  dist: { type: 'string', arg: '<dir>', description: `the distribution (default ${DEFAULT_DIST})` },
  store: { type: 'string', arg: '<uri>', description: `the store (default ${DEFAULT_STORE}; also memory:, mongodb://host/db)` },
  trust: { type: 'string', multiple: true, arg: '<key>', description: "the distribution assembler's public key (file or key id); default: the development key beside a local build" },
  'trust-agent': { type: 'string', multiple: true, arg: '<key>', description: 'a key trusted to sign agents (spawn); agents already stored keep the key they were verified with' },
};

/** The assembler keys to verify the distribution against: --trust, or a local build's development key. */
export async function assemblerTrust(args: Args, dist: string, io: Io): Promise<PublicKey[]> {
  const given = listOption(args, 'trust');
  if (given.length > 0) return resolveTrust(given);
  const dev = join(dist, DEV_PUBLIC_KEY);
  if (!existsSync(dev)) {
    throw new UsageError('EUSAGE', `${dist} has no ${DEV_PUBLIC_KEY} (a development build's key): pass --trust <assembler public key>`);
  }
  io.err(`note: trusting the development key ${dev} (a local build); pass --trust for any other distribution\n`);
  return resolveTrust([dev]);
}

/**
 * Verify the distribution and start a node on the store.
 * @example
 * const node = await openNode(args, io) // --dist dist/standard/build --store lmdb:./data
 */
export async function openNode(args: Args, io: Io): Promise<Node> {
  const { Node, loadDistribution } = await import('@mcp0/sdk');
  const dist = stringOption(args, 'dist') ?? DEFAULT_DIST;
  if (!existsSync(dist)) throw new UsageError('EUSAGE', `--dist ${dist}: no such directory (build the standard one with: mcp0 dist build dist/standard)`);
  const distribution = await loadDistribution(dist, { trust: await assemblerTrust(args, dist, io) });
  const agentKeys = await resolveTrust(listOption(args, 'trust-agent'));
  return Node.start({ distribution, store: stringOption(args, 'store') ?? DEFAULT_STORE, trust: agentKeys });
}
