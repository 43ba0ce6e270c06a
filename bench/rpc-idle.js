/**
 * One idle node for bench/rpc.js's memory figure (`node --expose-gc bench/rpc-idle.js --serve|--no-serve`):
 * storage, trace and rpc built from source, one agent answering one call, in process or, with
 * --serve, through serveNode and a Client; prints the RSS after the heap is collected.
 */
import { generateKeyPair } from '@mcp0/abi';
import { Node } from '@mcp0/sdk';
import { builtSigned } from './lib/fixtures.js';

const serve = process.argv.includes('--serve');
const key = generateKeyPair();
const [storage, trace, rpc] = await builtSigned(['plugins/storage', 'plugins/trace', 'plugins/rpc'], key);
const node = await Node.start({
  distribution: {
    name: 'idle',
    version: '0',
    publishers: [key.publicKey],
    plugins: [
      { name: 'mcp0.storage', bytes: storage, grants: [{ name: 'blocks' }, { name: 'random' }], isolation: 'inline' },
      { name: 'mcp0.rpc', bytes: rpc, grants: [{ name: 'kv' }, { name: 'crypto' }, { name: 'clock' }], isolation: 'inline', config: { operators: [key.kid] } },
      { name: 'mcp0.trace', bytes: trace, grants: [{ name: 'kv' }], isolation: 'inline' },
    ],
    pipeline: { admit: [], observe: ['mcp0.trace'] },
  },
  store: 'memory:',
});
if (serve) {
  const { Client, serveNode } = await import('@mcp0/sdk/rpc');
  const server = await serveNode(node, { listen: '127.0.0.1:0', insecure: true });
  const client = await Client.connect(`127.0.0.1:${server.port}`, { key, insecure: true });
  await client.info();
} else await node.roles.trace.head();
for (let i = 0; i < 4; i++) {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 100));
}
console.log(process.memoryUsage().rss);
process.exit(0);
