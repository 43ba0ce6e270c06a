/**
 * Opening a node from the command line, shared by `mcp0 start` and `mcp0 agent`: the distribution
 * (verified against --trust, the keyring, or an explicit --dev for a local build: ../../trust.ts),
 * the store, the keys trusted to sign agents and the grants agents may hold. Nothing beside the
 * distribution is trusted unless the operator says so: a stored agent comes back only when its
 * publisher is given with --trust-agent or is in the keyring, and its grants are allowed.
 */
import { existsSync } from 'node:fs';
import { UsageError } from '@mcp0/abi';
import type { Node, NodeOptions } from '@mcp0/sdk';
import { type Args, type Io, type OptionSpec, listOption, stringOption } from '../../command.js';
import { findInKeyring } from '../../keyring.js';
import { DIST_TRUST_OPTIONS, announce, assemblerTrust, trustedKeys } from '../../trust.js';
import { DEFAULT_DIST, DEFAULT_STORE } from '../../defaults.js';

export { DEFAULT_DIST };

/** The options of every command that opens a node. */
export const NODE_OPTIONS: Record<string, OptionSpec> = {
  dist: { type: 'string', arg: '<dir>', description: `the distribution (default ${DEFAULT_DIST})` },
  store: {
    type: 'string',
    arg: '<uri>',
    description: `the store (default ${DEFAULT_STORE}; also memory:, mongodb://host/db). Only spawn and start create one that does not exist`,
  },
  ...DIST_TRUST_OPTIONS,
  'trust-agent': {
    type: 'string',
    multiple: true,
    arg: '<key>',
    description:
      'a key trusted to sign agents: a file path or a key id in the keyring. Stored agents come back when their publisher is given here or is in the keyring',
  },
  'allow-grant': {
    type: 'string',
    multiple: true,
    arg: '<grant>',
    description: 'a grant agents on this node may hold beyond kv, clock, random (spawn refuses others; a stored agent holding more is not brought back)',
  },
};

/** What agents may be granted unless --allow-grant widens it (the SDK's default agent grants). */
const BASE_AGENT_GRANTS = ['kv', 'clock', 'random'];

/**
 * Verify the distribution and start a node on the store; `extra` adds node options (start's
 * operator key; `createStore: false` for commands that only use agents already stored, so a
 * mistyped --store is "no store at …" rather than an empty store).
 *
 * Agents another node runs (a `mcp0 start` on the same store, say) are not run here: the node
 * refuses them (EBUSY, naming the holder's pid and host) and a warning says so.
 * @example
 * const node = await openNode(args, io) // --dist distributions/standard/build --store lmdb:./data --dev
 */
export async function openNode(args: Args, io: Io, extra: Partial<NodeOptions> = {}): Promise<Node> {
  const { Node, loadDistribution } = await import('@mcp0/sdk');
  const dist = stringOption(args, 'dist') ?? DEFAULT_DIST;
  if (!existsSync(dist))
    throw new UsageError('EUSAGE', `--dist ${dist}: no such directory (build the standard one with: mcp0 dist build distributions/standard)`);
  const distribution = await loadDistribution(dist, { trust: await assemblerTrust(args, dist, io) });
  const agentKeys = await trustedKeys(listOption(args, 'trust-agent'), '--trust-agent', stringOption(args, 'keyring'));
  announce(io, 'agent signer', agentKeys);
  const keyring = stringOption(args, 'keyring');
  const node = await Node.start({
    distribution,
    store: stringOption(args, 'store') ?? DEFAULT_STORE,
    trust: agentKeys.map((k) => k.key),
    allowedAgentGrants: [...BASE_AGENT_GRANTS, ...listOption(args, 'allow-grant')],
    // A stored record names its publisher; the id is looked up in the keyring only, never in files.
    publisherKey: async (kid) => {
      const entry = await findInKeyring(kid, keyring).catch(() => undefined);
      if (entry) announce(io, 'agent signer', [{ key: entry.key, source: `keyring entry ${entry.id} (${entry.file}), named by a stored agent` }]);
      return entry?.key;
    },
    ...extra,
  });
  for (const r of node.agents.refused()) {
    const hint =
      r.code === 'EUNTRUSTED'
        ? ' (pass --trust-agent <its key>, or add it to the keyring)'
        : r.code === 'EPERM'
          ? ' (allow with --allow-grant)'
          : r.code === 'EBUSY'
            ? ' (one node runs an agent at a time: stop that node first, or wait for its heartbeat to expire if it died)'
            : '';
    io.err(`warning: stored agent ${r.name} (${r.id}) not brought back: ${r.reason}${hint}\n`);
  }
  return node;
}
