// TraceProof over gRPC: a consumer runs operations on a served node, the operator asks the node for
// a Groth16 proof of them, and the answer, the proof file `mcp0 trace verify` reads, verifies with
// the SDK's verifier bound to the node's chain, its newRoot the head the node reports for the last
// entry. Only operator keys may ask; a bad range, a bad limit or a batch over its limit is refused,
// typed, before any proving. The bundled (committed) development artifacts prove; no timing is
// asserted, and deadlines are generous for a loaded machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_STATUS, Mcp0Error } from '@mcp0/abi';
import { nodeTraceChain, verifyTraceProof, type Node, type TraceProofFile } from '@mcp0/sdk';
import { Client, type NodeServer } from '@mcp0/sdk/rpc';
import { loadVerificationKey, releaseZk } from '@mcp0/sdk/zk';
import { buildPackages } from '../../../test/built.js';
import { rejection } from '../rejection.js';
import { consumer, operator, servedNode } from './node.js';

const LONG = 240_000;

let node: Node;
let server: NodeServer;
let admin: Client;
let user: Client;
/** The entries the consumer's increments made. */
let from: number;
let to: number;

beforeAll(async () => {
  buildPackages();
  ({ node, server } = await servedNode({ maxDeadlineMs: LONG }));
  const address = `127.0.0.1:${server.port}`;
  admin = await Client.connect(address, { key: operator, insecure: true, timeoutMs: 120_000 });
  user = await Client.connect(address, { key: consumer, insecure: true, timeoutMs: 120_000 });
  const counter = user.agents.get('counter');
  const first = await user.call('counter', 'increment', { by: 1 });
  await counter.execute('increment', { by: 2 });
  const last = await user.call('counter', 'get');
  from = first.trace!.seq!;
  to = last.trace!.seq!;
}, 120_000);
afterAll(async () => {
  admin?.close();
  user?.close();
  await server?.close();
  await node?.stop();
  await releaseZk();
});

/** The typed error `work` rejects with (the suites' shared helper takes a function). */
const failure = (work: Promise<unknown>) => rejection(() => work);

describe('TraceProof over gRPC', () => {
  let file: TraceProofFile;

  it(
    "proves the consumer's entries under their agreement's quota; the file verifies bound to the node's chain",
    async () => {
      expect(to - from).toBe(2);
      file = await admin.trace.prove(from, to, { timeoutMs: LONG });
      expect(Object.keys(file).sort()).toEqual(['batchSize', 'from', 'proof', 'publicSignals', 'to']);
      expect(file).toMatchObject({ from, to, batchSize: 32 });
      const [newRoot, , count, prevRoot, costLimit] = file.publicSignals;
      // agr-rpc is the personal template: quotas.costUnitsPerWindow 20,000.
      expect([count, costLimit]).toEqual(['3', '20000']);

      // The node's own word on the chain, over the same transport: the head after entry `to`, and before `from`.
      const [last] = (await admin.trace.entries(to, to)) as [{ head: string }];
      expect(newRoot).toBe(last.head);
      const anchor = from === 0 ? '0' : ((await admin.trace.entries(from - 1, from - 1)) as [{ head: string }])[0].head;
      expect(prevRoot).toBe(anchor);
      const head = (await admin.trace.head()) as { seq: number };
      expect(head.seq).toBeGreaterThanOrEqual(to);

      const proven = await verifyTraceProof(JSON.parse(JSON.stringify(file)), { vkey: await loadVerificationKey(), chain: nodeTraceChain(node.roles.trace) });
      expect(proven).toMatchObject({ from, to, count: 3, newRoot: last.head, costLimit: '20000' });
      expect(proven.bound.chain?.headSeq).toBeGreaterThanOrEqual(to);
    },
    LONG,
  );

  it(
    'takes costLimit as decimal text, refusing a batch over it before proving (EINPUT naming the bound)',
    async () => {
      const e = await failure(admin.trace.prove(from, to, { costLimit: 0n }));
      expect(e.code).toBe('EINPUT');
      expect(e.details.status).toBe(GRPC_STATUS.INVALID_ARGUMENT);
      expect(e.message).toMatch(/exceeds the limit 0 \(bound: costLimit; raise costLimit or prove a smaller range\)/);
    },
    LONG,
  );

  it('refuses a key that is not an operator (EPERM), the consumer of the entries included', async () => {
    const e = await failure(user.trace.prove(from, to, { costLimit: 1000 }));
    expect(e.code).toBe('EPERM');
    expect(e.details.status).toBe(GRPC_STATUS.PERMISSION_DENIED);
  });

  it('refuses a bad range or limit, typed: EINPUT for the payload, ENOTFOUND past the head', async () => {
    const after = await failure(admin.trace.prove(to, from, { costLimit: 1000 }));
    expect(after.code).toBe('EINPUT');
    expect(after.message).toMatch(new RegExp(`from ${to} is after to ${from}`));
    const long = await failure(admin.trace.prove(0, 40, { costLimit: 1000 }));
    expect(long.code).toBe('EINPUT');
    expect(long.message).toMatch(/41 entries; a proof covers at most 32 \(the circuit's batch size\): split the range/);
    const { seq } = (await admin.trace.head()) as { seq: number };
    const past = await failure(admin.trace.prove(seq, seq + 5, { costLimit: 1000 }));
    expect(past.code).toBe('ENOTFOUND');
    expect(past.details.status).toBe(GRPC_STATUS.NOT_FOUND);
    expect(past.message).toMatch(new RegExp(`entry ${seq + 5} is past the chain head \\(seq ${seq}\\)`));
    const limit = await failure(admin.trace.prove(from, to, { costLimit: '1.5' }));
    expect(limit.code).toBe('EINPUT');
    expect(limit.message).toMatch(/costLimit: expected an integer from 0 to 2\^64 − 1, got "1\.5"/);
    const unknown = await failure(admin.trace.prove(from, to, { agreement: 'nope' }));
    expect(unknown.code).toBe('EINPUT');
    expect(unknown.message).toMatch(/no agreement "nope" in the store .*: pass agreement <a registered id> or costLimit <n>/);
    const raw = await failure(admin.call('', 'mcp0.v1.Node/TraceProof', { from: 'zero', to: 1 }));
    expect(raw.code).toBe('EINPUT');
    expect(raw.message).toMatch(/"from" expected an unsigned integer/);
  });
});
