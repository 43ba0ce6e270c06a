// Hostile bytes at a served node (issue 15): an oversized message, a gRPC frame whose length lies, a
// body that is not protobuf, and a connection that does not speak HTTP/2 at all. Each gets an error
// (or a closed connection), nothing runs, and the node keeps serving its honest clients.
import { connect as h2connect, constants } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCbor, GRPC_STATUS, signEnvelope } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { Client, NODE_PROTO, PROTO_ROOT, type NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { connectClient, consumer, servedNode } from './node.js';

let node: Node;
let server: NodeServer;
let client: Client;

beforeAll(async () => {
  buildPackages();
  ({ node, server } = await servedNode());
  client = await connectClient(server);
}, 120_000);
afterAll(async () => {
  client?.close();
  await server?.close();
  await node?.stop();
});

const counterValue = async () => ((await node.agents.get('counter').execute('get')) as { value: number }).value;

/** One raw HTTP/2 gRPC request to Execute with `body` as the request's bytes: the status it ends with. */
function rawGrpc(body: Buffer): Promise<{ status: number | undefined }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${server.port}`);
    session.on('error', reject);
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/mcp0.v1.Node/Execute',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '60S',
    });
    let status: number | undefined;
    const read = (h: Record<string, unknown>) => {
      if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
    };
    req.on('response', read);
    req.on('trailers', read);
    req.on('data', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ status });
    });
    req.on('error', () => undefined);
    req.end(body);
  });
}

/** A gRPC length-prefixed message: flag 0, a 4-byte big-endian length, then `bytes` (of any length). */
const frame = (declared: number, bytes: Buffer) => Buffer.concat([Buffer.from([0, ...[24, 16, 8, 0].map((s) => (declared >>> s) & 0xff)]), bytes]);

describe('hostile bytes at a served node', () => {
  it('refuses an oversized message, and runs nothing', async () => {
    const before = await counterValue();
    const def = loadSync(NODE_PROTO, { includeDirs: [PROTO_ROOT], keepCase: true, bytes: Buffer, longs: String, defaults: true });
    const Ctor = (loadPackageDefinition(def) as any).mcp0.v1.Node;
    const raw = new Ctor(`127.0.0.1:${server.port}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 16 * 1024 * 1024 });
    const payload = encodeCbor({ by: 1, pad: 'x'.repeat(5 * 1024 * 1024) });
    const envelope = signEnvelope({ key: consumer, target: 'counter', method: 'increment', payload, deadline: Date.now() + 60_000 });
    const error = await new Promise<ServiceError | null>((resolve) =>
      raw.Execute({ envelope: Buffer.from(envelope), payload: Buffer.from(payload) }, new Metadata(), { deadline: new Date(Date.now() + 60_000) }, resolve),
    );
    raw.close();
    expect(error?.code).toBe(GRPC_STATUS.RESOURCE_EXHAUSTED);
    expect(await counterValue()).toBe(before);
  });

  it('answers a frame whose length lies, and a body that is not protobuf, with an error', async () => {
    const before = await counterValue();
    const short = await rawGrpc(frame(1000, Buffer.from([1, 2, 3])));
    expect(short.status).not.toBe(GRPC_STATUS.OK);
    expect(short.status).toBeDefined();
    const junk = await rawGrpc(frame(6, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
    expect(junk.status).not.toBe(GRPC_STATUS.OK);
    expect(junk.status).toBeDefined();
    expect(await counterValue()).toBe(before);
  });

  it('closes a connection that does not speak HTTP/2, and keeps serving', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = tcpConnect(server.port, '127.0.0.1', () => socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\u0000\u00ff garbage')));
      socket.on('data', () => undefined);
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.setTimeout(120_000, () => reject(new Error('the node kept a garbage connection open for 120 s')));
    });
    expect(await client.agents.get('counter').execute('increment', { by: 1 })).toMatchObject({ value: expect.any(Number) });
  });
});
