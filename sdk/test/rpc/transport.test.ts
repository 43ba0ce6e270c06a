// The gRPC transport end to end, over loopback: a signed call runs the agent and says where the
// callee's trace stands; the rpc plugin's refusals come back as typed errors with their gRPC
// statuses; calls without a deadline, replays and envelopes meant for another method are refused
// before anything runs; health follows a drain; reflection lists the service.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, loadPackageDefinition, Metadata, type Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { encodeCbor, generateKeyPair, GRPC_STATUS, Mcp0Error, signEnvelope } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { Client, NODE_PROTO, NODE_SERVICE, PROTO_ROOT, serveNode, type NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { rejection } from '../rejection.js';
import { consumer, operator, servedNode } from './node.js';

let node: Node;
let server: NodeServer;
let address: string;

beforeAll(async () => {
  buildPackages();
  ({ node, server } = await servedNode());
  address = `127.0.0.1:${server.port}`;
}, 120_000);
afterAll(async () => {
  await server?.close();
  await node?.stop();
});

/** The typed error `work` rejects with (the suites' shared helper takes a function). */
const failure = (work: Promise<unknown>) => rejection(() => work);

/** A raw client of mcp0.v1.Node, to send what the SDK's client never would. */
function rawNode(): GrpcClient & Record<string, (...a: unknown[]) => unknown> {
  const def = loadSync(NODE_PROTO, { includeDirs: [PROTO_ROOT], keepCase: true, bytes: Buffer, longs: String, defaults: true });
  const Ctor = (loadPackageDefinition(def) as any).mcp0.v1.Node;
  return new Ctor(address, credentials.createInsecure());
}

function rawCall(
  client: GrpcClient & Record<string, (...a: unknown[]) => unknown>,
  rpc: string,
  request: object,
  deadline?: Date,
): Promise<{ error?: ServiceError; value?: unknown }> {
  return new Promise((resolve) => {
    const cb = (error: ServiceError | null, value: unknown) => resolve(error ? { error } : { value });
    if (deadline) client[rpc]!(request, new Metadata(), { deadline }, cb);
    else client[rpc]!(request, cb);
  });
}

describe('a node over gRPC', () => {
  it("runs a consumer's signed call and says where the callee's trace stands", async () => {
    const client = await Client.connect(address, { key: consumer, insecure: true, timeoutMs: 120_000 });
    try {
      const before = await client.call('counter', 'increment', {});
      expect(before.value).toEqual({ value: 1 });
      expect(before.trace?.seq).toEqual(expect.any(Number));
      expect(before.envelopeHash).toHaveLength(32);
      // The callee's trace recorded the call under the envelope's hash (issue 15): the entry at the
      // seq the answer names, covered by its eventHash, so the caller can later prove it ran.
      const entry = await node.roles.trace.get({ seq: before.trace!.seq! });
      expect(entry.event).toMatchObject({ intent: 'increment', cause: before.envelopeHash });
      expect(await node.roles.trace.verifyRange({ from: 0, to: before.trace!.seq! })).toEqual({ ok: true });
      expect(await client.agents.get('counter').execute('increment', { by: 2 })).toEqual({ value: 3 });
      expect((await client.call('counter', 'get')).trace!.seq).toBeGreaterThan(before.trace!.seq!);
    } finally {
      client.close();
    }
  });

  it("serves the node's own methods to its operator only", async () => {
    const admin = await Client.connect(address, { key: operator, insecure: true, timeoutMs: 120_000 });
    const user = await Client.connect(address, { key: consumer, insecure: true, timeoutMs: 120_000 });
    try {
      expect(await admin.info()).toMatchObject({ distribution: { name: 'test' }, roles: expect.arrayContaining(['mcp0.rpc@1', 'mcp0.trace@1']) });
      expect(await admin.agents.list()).toEqual([expect.objectContaining({ name: 'counter', state: 'running', agreement: 'agr-rpc' })]);
      const e = await failure(user.agents.list());
      expect(e.code).toBe('EPERM');
      expect(e.details.status).toBe(GRPC_STATUS.PERMISSION_DENIED);
      // And the operator is not the agent's consumer: its calls to the agent are refused the same way.
      expect((await failure(admin.agents.get('counter').execute('get'))).code).toBe('EPERM');
    } finally {
      admin.close();
      user.close();
    }
  });

  it('refuses a stranger, typed, with the gRPC status of its code', async () => {
    const stranger = await Client.connect(address, { key: generateKeyPair(), insecure: true, timeoutMs: 120_000 });
    try {
      const e = await failure(stranger.agents.get('counter').execute('increment'));
      expect(e.code).toBe('EPERM');
      expect(e.details.status).toBe(GRPC_STATUS.PERMISSION_DENIED);
      expect((await failure(stranger.agents.get('nobody').execute('x'))).code).toBe('EPERM');
      // An intent the agent lacks never reaches the rpc plugin (whose buckets are per method name).
      expect((await failure(stranger.agents.get('counter').execute('made-up-1'))).code).toBe('ENOTFOUND');
    } finally {
      stranger.close();
    }
  });

  it('refuses a call without a deadline, a replay, and an envelope meant for another method', async () => {
    const raw = rawNode();
    try {
      const payload = encodeCbor({});
      const envelope = signEnvelope({ key: consumer, target: 'counter', method: 'get', payload, deadline: Date.now() + 10_000 });
      const request = { envelope, payload };
      const none = await rawCall(raw, 'Execute', request);
      expect(none.error?.code).toBe(GRPC_STATUS.INVALID_ARGUMENT);
      expect(none.error?.details).toMatch(/no deadline/);
      expect(none.error?.metadata.get('mcp0-code')).toEqual(['EUSAGE']);
      const first = await rawCall(raw, 'Execute', request, new Date(Date.now() + 10_000));
      expect(first.error).toBeUndefined();
      const again = await rawCall(raw, 'Execute', request, new Date(Date.now() + 10_000));
      expect(again.error?.code).toBe(GRPC_STATUS.PERMISSION_DENIED);
      expect(again.error?.details).toMatch(/^replay/);
      const listing = signEnvelope({ key: operator, target: '', method: `${NODE_SERVICE}/ListAgents`, payload, deadline: Date.now() + 10_000 });
      const crossed = await rawCall(raw, 'Terminate', { envelope: listing, payload }, new Date(Date.now() + 10_000));
      expect(crossed.error?.code).toBe(GRPC_STATUS.PERMISSION_DENIED);
      expect(crossed.error?.details).toMatch(/not mcp0\.v1\.Node\/Terminate/);
      const garbage = await rawCall(raw, 'Execute', { envelope: Buffer.from([0xff]), payload }, new Date(Date.now() + 10_000));
      expect(garbage.error?.code).toBe(GRPC_STATUS.INVALID_ARGUMENT);
      expect(node.agents.get('counter').state).toBe('running');
    } finally {
      raw.close();
    }
  });

  it('lists its services by reflection', async () => {
    const require = createRequire(import.meta.url);
    const file = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1alpha/reflection.proto');
    const def = loadSync(file, { keepCase: true });
    const Ctor = (loadPackageDefinition(def) as any).grpc.reflection.v1alpha.ServerReflection;
    const client = new Ctor(address, credentials.createInsecure());
    const names = await new Promise<string[]>((resolve, reject) => {
      const stream = client.ServerReflectionInfo();
      stream.on('data', (r: { list_services_response?: { service: { name: string }[] } }) => {
        resolve((r.list_services_response?.service ?? []).map((s) => s.name));
        stream.end();
      });
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    client.close();
    expect(names).toEqual(expect.arrayContaining(['mcp0.v1.Node', 'grpc.health.v1.Health']));
  });

  it('refuses plaintext off loopback, and serving a distribution without the rpc role', async () => {
    await expect(serveNode(node, { listen: '0.0.0.0:0', insecure: true })).rejects.toThrow(/plaintext is for a loopback address only/);
    await expect(serveNode(node, { listen: '127.0.0.1:0' })).rejects.toThrow(/TLS files are required/);
  });
});
