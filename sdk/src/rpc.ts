/**
 * @mcp0/sdk/rpc: a node over the network. `serveNode` serves a node over gRPC (TLS, deadlines,
 * health, reflection, every call checked by the node's rpc plugin); `Client` calls one. Loads
 * @grpc/grpc-js, so it is a subpath: programs that do not use the network never load it.
 * @example
 * import { Client } from '@mcp0/sdk/rpc'
 * const client = await Client.connect('127.0.0.1:7040', { key, insecure: true })
 * await client.agents.get('notes').execute('remember', { text: 'buy milk' })
 */
export * from './rpc/index.js';
