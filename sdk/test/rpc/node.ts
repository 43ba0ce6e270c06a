/**
 * A node for the transport tests: storage, trace, agreements (accepting the operator as provider)
 * and rpc (the operator its one operator key), a counter agent spawned under an agreement whose
 * consumer is the agents' signer, served over gRPC on a loopback port.
 */
import { generateKeyPair, newAgreement, parseGrant, signAgreement, type PrivateKey } from '@mcp0/abi';
import type { Node, NodeOptions } from '@mcp0/sdk';
import { Client, serveNode, type NodeServer, type ServeOptions } from '@mcp0/sdk/rpc';
import { publisher, signed } from '../../../test/fixtures.js';
import { agreementsDistribution, startNode } from '../node/harness.js';

/** The node operator: provider of the agreements, and the one key allowed the node's own methods. */
export const operator: PrivateKey = generateKeyPair();
/** The agents' signer and so the consumer of their agreement: the key allowed to call them. */
export const consumer: PrivateKey = publisher;

/**
 * A node on `store` with the rpc plugin configured by `rpc` (merged over the operator list), and
 * nothing spawned: what `servedNode` starts, and what a restart starts again on the same store.
 * @example
 * const node = await rpcNode(`lmdb:${dir}`)
 */
export async function rpcNode(store = 'memory:', rpc: Record<string, unknown> = {}, options: Partial<NodeOptions> = {}): Promise<Node> {
  const rpcPlugin = {
    name: 'mcp0.rpc',
    bytes: await signed('rpc'),
    grants: ['kv:rpc/', 'crypto', 'clock'].map(parseGrant),
    config: { operators: [operator.kid], ...rpc },
  };
  return startNode(store, { distribution: await agreementsDistribution([operator.kid], [{ ...rpcPlugin, isolation: 'inline' }]), ...options });
}

/**
 * A node with the rpc plugin configured by `rpc` (merged over the operator list), and a counter agent.
 * @example
 * const { node, server } = await servedNode({ listen: '127.0.0.1:0', insecure: true })
 */
export async function servedNode(
  serve: Partial<ServeOptions> = {},
  rpc: Record<string, unknown> = {},
  options: Partial<NodeOptions> = {},
  store = 'memory:',
): Promise<{ node: Node; server: NodeServer }> {
  const node = await rpcNode(store, rpc, options);
  try {
    const doc = newAgreement('personal', {
      id: 'agr-rpc',
      consumer: consumer.kid,
      provider: operator.kid,
      set: { 'permissions.intents': '["increment","get"]' },
    });
    await node.roles.agreements.register({ document: signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider') });
    await node.agents.spawn({ module: await signed('counter'), name: 'counter', agreement: 'agr-rpc' });
    const server = await serveNode(node, { listen: '127.0.0.1:0', insecure: true, drainNoticeMs: 50, ...serve });
    return { node, server };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/**
 * A plaintext client of `server` on loopback calling as `key` (the consumer by default), with
 * deadlines a loaded machine cannot miss.
 * @example
 * const client = await connectClient(server)
 */
export function connectClient(server: NodeServer, key: PrivateKey = consumer): Promise<Client> {
  return Client.connect(`127.0.0.1:${server.port}`, { key, insecure: true, timeoutMs: 120_000 });
}
