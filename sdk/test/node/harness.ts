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

/** Starts a node on `store` with the test distribution. */
export async function startNode(store: string | Store, options: Partial<NodeOptions> = {}): Promise<Node> {
  return Node.start({ distribution: await testDistribution(), store, ...options });
}
