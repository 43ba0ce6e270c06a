/**
 * A node for the SDK's end-to-end tests: the storage and trace plugins built from source and signed
 * by the fixture publisher, over a store of the test's choosing.
 */
import { parseGrant } from '@mcp0/abi';
import { Node, type NodeDistribution, type NodeOptions, type Store } from '@mcp0/sdk';
import { signed, trusted } from '../../../test/fixtures.js';

/** The reference plugins a test node runs: storage, then trace observing every operation. */
export async function testDistribution(extra: Partial<NodeDistribution> = {}): Promise<NodeDistribution> {
  return {
    name: 'test',
    version: '0.0.0',
    publishers: [trusted],
    plugins: [
      { name: 'mcp0.storage', bytes: await signed('storage'), grants: [parseGrant('blocks'), parseGrant('random')], isolation: 'inline' },
      { name: 'mcp0.trace', bytes: await signed('trace'), grants: [parseGrant('kv:trace/')], isolation: 'inline' },
    ],
    pipeline: { admit: [], observe: ['mcp0.trace'] },
    ...extra,
  };
}

/**
 * The test distribution with the agreements plugin (accepting `providers`) admitting and observing
 * before trace, and any `extra` plugins.
 */
export async function agreementsDistribution(providers: string[], extra: NodeDistribution['plugins'] = []): Promise<NodeDistribution> {
  const base = await testDistribution();
  return {
    ...base,
    plugins: [
      {
        name: 'mcp0.agreements',
        bytes: await signed('agreements'),
        grants: ['kv:agreements/', 'crypto', 'clock'].map(parseGrant),
        isolation: 'inline',
        config: { providers },
      },
      ...extra,
      ...base.plugins,
    ],
    pipeline: { admit: ['mcp0.agreements'], observe: ['mcp0.agreements', 'mcp0.trace'] },
  };
}

/** Starts a node on `store` with the test distribution. */
export async function startNode(store: string | Store, options: Partial<NodeOptions> = {}): Promise<Node> {
  return Node.start({ distribution: await testDistribution(), store, ...options });
}
