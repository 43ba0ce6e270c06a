// A drain and a restart under steady client load (issue 15): clients keep calling while the served
// node drains, stops, and starts again on the same store and port. A refused call (EBUSY while
// draining, EUNAVAILABLE while nothing listens) never ran, so the client retries it with a fresh
// envelope; every call the node acknowledged must be in the state the restarted node serves: the
// counter equals the number of acknowledged increments, none lost, none run twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mcp0Error } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { Client, serveNode, type NodeServer } from '@mcp0/sdk/rpc';
import { buildPackages } from '../../../test/built.js';
import { consumer, rpcNode, servedNode } from './node.js';

const WORKERS = 4;
const RATE = { rate: { perSecond: 100_000, burst: 100_000 } };
const dir = mkdtempSync(join(tmpdir(), 'mcp0-rpc-restart-'));
let node: Node | undefined;
let server: NodeServer | undefined;
let client: Client | undefined;

afterAll(async () => {
  client?.close();
  await server?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a drain and a restart under steady load', () => {
  it('loses no acknowledged call', async () => {
    buildPackages();
    ({ node, server } = await servedNode({ drainNoticeMs: 200 }, RATE, {}, `lmdb:${dir}`));
    const port = server.port;
    client = await Client.connect(`127.0.0.1:${port}`, { key: consumer, insecure: true, timeoutMs: 120_000 });
    const counter = client.agents.get('counter');

    let acknowledged = 0;
    let refused = 0;
    let stop = false;
    const unexpected: string[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          await counter.execute('increment', { by: 1 });
          acknowledged++;
        } catch (e) {
          // Refused before it ran: draining (EBUSY) or nothing listening (EUNAVAILABLE). Retry.
          if (e instanceof Mcp0Error && (e.code === 'EBUSY' || e.code === 'EUNAVAILABLE')) refused++;
          else unexpected.push(String(e));
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Promise.all(Array.from({ length: WORKERS }, worker));
    const poll = { timeout: 120_000, interval: 20 };

    await expect.poll(() => acknowledged, poll).toBeGreaterThanOrEqual(20);
    await server.drain(60_000);
    await node.stop();
    node = undefined;
    const beforeRestart = acknowledged;
    node = await rpcNode(`lmdb:${dir}`, RATE);
    server = await serveNode(node, { listen: `127.0.0.1:${port}`, insecure: true, drainNoticeMs: 50 });
    await expect.poll(() => acknowledged, poll).toBeGreaterThanOrEqual(beforeRestart + 20);
    stop = true;
    await workers;

    expect(unexpected).toEqual([]);
    expect(refused).toBeGreaterThan(0); // the load did meet the drain and the restart
    expect(await node.agents.get('counter').execute('get')).toEqual({ value: acknowledged });
  }, 600_000);
});
