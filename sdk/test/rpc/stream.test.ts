// ExecuteStream end to end over loopback: the agent's progress (its emits while it runs) arrives in
// order, then the result with the callee's trace head; a client that goes away mid-stream costs the
// node nothing but the operation it had begun; a stream is refused like a unary call without a
// deadline or for the node's own methods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { encodeCbor, GRPC_STATUS, newAgreement, signAgreement, signEnvelope } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { Client, NODE_PROTO, PROTO_ROOT, type NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { signed } from '../../../test/fixtures.js';
import { rejection } from '../rejection.js';
import { connectClient, consumer, operator, servedNode } from './node.js';

let node: Node;
let server: NodeServer;
let client: Client;

beforeAll(async () => {
  buildPackages();
  ({ node, server } = await servedNode({}, {}, { allowedAgentGrants: ['kv', 'clock', 'random', 'emit'] }));
  const doc = newAgreement('personal', { id: 'agr-progress', consumer: consumer.kid, provider: operator.kid, set: { 'permissions.intents': '["steps"]' } });
  await node.roles.agreements.register({ document: signAgreement(signAgreement(doc, consumer, 'consumer'), operator, 'provider') });
  await node.agents.spawn({ module: await signed('progress'), name: 'progress', grants: ['emit:progress'], agreement: 'agr-progress' });
  client = await connectClient(server);
}, 120_000);
afterAll(async () => {
  client?.close();
  await server?.close();
  await node?.stop();
});

describe('ExecuteStream', () => {
  it('passes on the progress in order, then the result with the trace head', async () => {
    const events: unknown[] = [];
    const receipt = await client.call('progress', 'steps', { n: 5 }, { onProgress: (e) => events.push(e) });
    expect(events).toEqual([1, 2, 3, 4, 5].map((step) => ({ topic: 'progress', data: { step, of: 5 } })));
    expect(receipt.value).toEqual({ steps: 5 });
    expect(receipt.envelopeHash).toHaveLength(32);
    expect(receipt.trace?.seq).toBeTypeOf('number');
    // The agent handle streams too.
    const seen: unknown[] = [];
    expect(await client.agents.get('progress').execute('steps', { n: 2 }, { onProgress: (e) => seen.push(e.data) })).toEqual({ steps: 2 });
    expect(seen).toEqual([
      { step: 1, of: 2 },
      { step: 2, of: 2 },
    ]);
  });

  it('survives a client that goes away mid-stream, and serves the next call', async () => {
    const controller = new AbortController();
    let received = 0;
    const cut = client.call(
      'progress',
      'steps',
      { n: 1000 },
      {
        signal: controller.signal,
        onProgress: () => {
          received++;
          controller.abort();
        },
      },
    );
    const e = await rejection(() => cut);
    expect(received).toBeGreaterThanOrEqual(1);
    expect(e).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'cancelled' } });
    await expect.poll(() => server.inFlight, { timeout: 120_000, interval: 20 }).toBe(0);
    expect((await client.call('progress', 'steps', { n: 3 }, { onProgress: () => undefined })).value).toEqual({ steps: 3 });
  });

  it('cancels a unary call by its signal, and the node keeps serving', async () => {
    const controller = new AbortController();
    const call = client.call('progress', 'steps', { n: 1000 }, { signal: controller.signal });
    controller.abort();
    expect(await rejection(() => call)).toMatchObject({ code: 'ETIMEOUT', details: { cutoff: 'cancelled' } });
    // Already aborted: refused before anything is sent.
    expect(await rejection(() => client.call('progress', 'steps', { n: 1 }, { signal: controller.signal }))).toMatchObject({
      code: 'ETIMEOUT',
      details: { cutoff: 'cancelled' },
    });
    await expect.poll(() => server.inFlight, { timeout: 120_000, interval: 20 }).toBe(0);
    expect((await client.call('progress', 'steps', { n: 1 })).value).toEqual({ steps: 1 });
  });

  it("ends the call, not the process, when the caller's listener throws", async () => {
    const e = await rejection(() =>
      client.call(
        'progress',
        'steps',
        { n: 10 },
        {
          onProgress: () => {
            throw new Error('listener bug');
          },
        },
      ),
    );
    expect(e).toMatchObject({ code: 'EINTERNAL' });
    expect(String((e as Error).message)).toContain('listener bug');
  });

  it('refuses a stream without a deadline, or for the node itself', async () => {
    const def = loadSync(NODE_PROTO, { includeDirs: [PROTO_ROOT], keepCase: true, bytes: Buffer, longs: String, defaults: true });
    const Ctor = (loadPackageDefinition(def) as any).mcp0.v1.Node;
    const raw = new Ctor(`127.0.0.1:${server.port}`, credentials.createInsecure());
    const status = (request: object, options: object) =>
      new Promise<ServiceError>((resolve, reject) => {
        const s = raw.ExecuteStream(request, new Metadata(), options);
        s.on('data', () => undefined);
        s.on('error', resolve);
        s.on('end', () => reject(new Error('the stream ended without an error')));
      });
    const payload = encodeCbor({ n: 1 });
    const envelope = (target: string, method: string) =>
      Buffer.from(signEnvelope({ key: target === '' ? operator : consumer, target, method, payload, deadline: Date.now() + 60_000 }));
    const noDeadline = await status({ envelope: envelope('progress', 'steps'), payload: Buffer.from(payload) }, {});
    expect(noDeadline.code).toBe(GRPC_STATUS.INVALID_ARGUMENT);
    const forNode = await status({ envelope: envelope('', 'mcp0.v1.Node/Info'), payload: Buffer.from(payload) }, { deadline: new Date(Date.now() + 60_000) });
    expect(forNode.code).toBe(GRPC_STATUS.PERMISSION_DENIED);
    raw.close();
  });
});
