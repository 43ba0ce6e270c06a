/**
 * Opening a node from the command line, shared by `mcp0 start` and `mcp0 agent`: the distribution
 * (verified against --trust, the keyring, or an explicit --dev for a local build: ../../trust.ts),
 * the store, and the keys trusted to sign agents. Nothing beside the distribution is trusted
 * unless the operator says so.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { type Args, type Io, type OptionSpec, listOption, stringOption } from '../../command.js';
import { DIST_TRUST_OPTIONS, announce, assemblerTrust, trustedKeys } from '../../trust.js';
import { DEFAULT_STORE } from '../trace.js';

/** The distribution the node runs unless told otherwise: the standard one, as `npm start` builds it. */
export const DEFAULT_DIST = 'dist/standard/build';

/** The options of every command that opens a node. */
export const NODE_OPTIONS: Record<string, OptionSpec> = {
  dist: { type: 'string', arg: '<dir>', description: `the distribution (default ${DEFAULT_DIST})` },
  store: { type: 'string', arg: '<uri>', description: `the store (default ${DEFAULT_STORE}; also memory:, mongodb://host/db)` },
  ...DIST_TRUST_OPTIONS,
  'trust-agent': { type: 'string', multiple: true, arg: '<key>', description: 'a key trusted to sign agents (spawn): a file path or a key id in the keyring; agents already stored keep the key they were verified with' },
};

/**
 * Verify the distribution and start a node on the store.
 * @example
 * const node = await openNode(args, io) // --dist dist/standard/build --store lmdb:./data --dev
 */
export async function openNode(args: Args, io: Io): Promise<Node> {
  const { Node, loadDistribution } = await import('@mcp0/sdk');
  const dist = stringOption(args, 'dist') ?? DEFAULT_DIST;
  if (!existsSync(dist)) throw new UsageError('EUSAGE', `--dist ${dist}: no such directory (build the standard one with: mcp0 dist build dist/standard)`);
  const distribution = await loadDistribution(dist, { trust: await assemblerTrust(args, dist, io) });
  const agentKeys = await trustedKeys(listOption(args, 'trust-agent'), '--trust-agent', stringOption(args, 'keyring'));
  announce(io, 'agent signer', agentKeys);
  return Node.start({ distribution, store: stringOption(args, 'store') ?? DEFAULT_STORE, trust: agentKeys.map((k) => k.key) });
}
