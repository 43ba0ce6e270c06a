// TLS on the transport: a client trusting the node's CA gets through; one trusting another CA does
// not; with a client CA (mutual TLS) a client without a certificate, or with one from another CA,
// is refused before any call reaches the node, and one with a certificate from the CA is served.
// Certificate files replaced on disk are served from then on, without a restart.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Node } from '@mcp0/sdk';
import { Client, type NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { makeCerts, type TestCerts } from './certs.js';
import { consumer, servedNode } from './node.js';

let certs: TestCerts;
let node: Node;
let tls: NodeServer;
let mutual: NodeServer;
const read = (f: string) => new Uint8Array(readFileSync(f));

beforeAll(async () => {
  buildPackages();
  certs = makeCerts();
  ({ node, server: tls } = await servedNode({ insecure: false, tls: { cert: certs.nodeCert, key: certs.nodeKey } }));
  const { serveNode } = await import('@mcp0/sdk/rpc');
  mutual = await serveNode(node, { listen: '127.0.0.1:0', tls: { cert: certs.nodeCert, key: certs.nodeKey, clientCa: certs.ca } });
}, 120_000);
afterAll(async () => {
  await tls?.close();
  await mutual?.close();
  await node?.stop();
});

const connect = (server: NodeServer, options: Parameters<typeof Client.connect>[1]) =>
  Client.connect(`127.0.0.1:${server.port}`, { timeoutMs: 120_000, ...options });

describe('TLS', () => {
  it('serves a client that trusts the CA that signed the node', async () => {
    const client = await connect(tls, { key: consumer, ca: read(certs.ca) });
    try {
      expect(await client.agents.get('counter').execute('get')).toEqual({ value: expect.any(Number) });
    } finally {
      client.close();
    }
  });

  it('is refused by a client that trusts another CA, and refuses plaintext', async () => {
    await expect(connect(tls, { key: consumer, ca: read(certs.otherCa), timeoutMs: 3_000 })).rejects.toThrow(/connect/);
    await expect(Client.connect(`127.0.0.1:${tls.port}`, { key: consumer, insecure: true, timeoutMs: 1_000 })).rejects.toThrow(/connect/);
  });

  it('with a client CA, serves a client certificate it signed and refuses one from another CA or none', async () => {
    const good = await connect(mutual, { key: consumer, ca: read(certs.ca), cert: read(certs.clientCert), certKey: read(certs.clientKey) });
    try {
      expect(await good.agents.get('counter').execute('get')).toEqual({ value: expect.any(Number) });
    } finally {
      good.close();
    }
    const refused = async (options: Parameters<typeof Client.connect>[1]) => {
      try {
        const c = await connect(mutual, { timeoutMs: 3_000, ...options });
        // Some TLS stacks finish the handshake and fail the first call instead: either way, no answer.
        try {
          await c.agents.get('counter').execute('get');
        } finally {
          c.close();
        }
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected the node to refuse the client');
    };
    expect(await refused({ key: consumer, ca: read(certs.ca), cert: read(certs.otherCert), certKey: read(certs.otherKey) })).toBeInstanceOf(Error);
    expect(await refused({ key: consumer, ca: read(certs.ca) })).toBeInstanceOf(Error);
  });

  it('takes a rotated certificate without a restart', async () => {
    const { copyFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const cert = join(certs.dir, 'live.crt');
    const key = join(certs.dir, 'live.key');
    copyFileSync(certs.nodeCert, cert);
    copyFileSync(certs.nodeKey, key);
    const { serveNode } = await import('@mcp0/sdk/rpc');
    const rotating = await serveNode(node, { listen: '127.0.0.1:0', tls: { cert, key, refreshMs: 100 } });
    const works = async (ca: string) => {
      try {
        const c = await connect(rotating, { key: consumer, ca: read(ca), timeoutMs: 5_000 });
        try {
          await c.agents.get('counter').execute('get');
          return true;
        } finally {
          c.close();
        }
      } catch {
        return false;
      }
    };
    try {
      expect(await works(certs.ca)).toBe(true);
      // The operator replaces the files (key first: until the certificate follows, a handshake may fail).
      copyFileSync(certs.otherNodeKey, key);
      copyFileSync(certs.otherNodeCert, cert);
      await expect.poll(() => works(certs.otherCa), { timeout: 120_000, interval: 200 }).toBe(true);
      expect(await works(certs.ca)).toBe(false);
    } finally {
      await rotating.close();
    }
  });
});
