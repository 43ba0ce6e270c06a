/**
 * `mcp0 mcp` over stdio, driven by the official MCP SDK's Client, which spawns it as a desktop
 * client would. Covered: the tools are the caller's agreement's intents and nothing else (not
 * another consumer's agents, not an intent the agreement leaves out), annotations from grants, a
 * call's output and its trace head in `_meta` (one entry per call, equal to the store's head
 * after), a denial and a failure as `isError` results with their ABI code, an unknown tool as the
 * protocol error MCP specifies, progress notifications from an agent's emits, and the usage
 * errors of a command line that cannot serve.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEYRING, run } from './helpers.js';
import { bin, prepare, traceHead, type McpFixture } from './mcp-setup.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

let f: McpFixture;
beforeAll(async () => {
  f = await prepare();
}, 300_000);

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

/** A client of `mcp0 mcp --consumer <consumer>` on `store`, spawned over stdio; its stderr is kept for failure messages. */
async function connect(store: string, consumer: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--no-warnings', bin, 'mcp', ...f.nodeArgs(store), '--consumer', consumer],
    env: { ...(process.env as Record<string, string>), MCP0_KEYRING: KEYRING, NODE_OPTIONS: '' },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d) => (err += d));
  const client = new Client({ name: 'mcp0-test', version: '0.0.0' });
  await client.connect(transport, { timeout: 120_000 });
  open.push(client);
  return { client, stderr: () => err };
}

const call = (client: Client, name: string, args: Record<string, unknown> = {}, extra: object = {}) =>
  client.callTool({ name, arguments: args }, undefined, { timeout: 120_000, ...extra }) as Promise<CallToolResult>;
const traceOf = (r: CallToolResult) => (r._meta?.['mcp0/trace'] ?? {}) as { seq: number; head: string };

describe('mcp0 mcp over stdio', () => {
  it("lists the intents the caller's agreement permits on its own agents, and runs each call as one traced operation", async () => {
    const store = await f.store();
    const { client, stderr } = await connect(store, f.consumer.kid);
    expect(client.getServerVersion()).toMatchObject({ name: 'mcp0' });

    const { tools } = await client.listTools(undefined, { timeout: 120_000 });
    expect(tools.map((t) => t.name).sort(), stderr()).toEqual(['counter.get', 'counter.increment', 'progress.steps']);
    const increment = tools.find((t) => t.name === 'counter.increment')!;
    // The schemas are the signed manifest's (ABI 1.3).
    const manifest = JSON.parse(readFileSync(join(ROOT, 'agents/counter/plugin.json'), 'utf8')) as {
      exports: { name: string; input: object; output: object }[];
    };
    const declared = manifest.exports.find((e) => e.name === 'increment')!;
    expect(increment.inputSchema).toEqual(declared.input);
    expect(increment.outputSchema).toEqual(declared.output);
    // counter holds kv (it can write), progress only emit; neither holds net.
    expect(increment.annotations).toEqual({ readOnlyHint: false, openWorldHint: false });
    expect(tools.find((t) => t.name === 'progress.steps')!.annotations).toEqual({ readOnlyHint: true, openWorldHint: false });
    expect(increment.description).toContain('adds by');

    const first = await call(client, 'counter.increment', { by: 2 });
    expect(first.isError ?? false, JSON.stringify(first)).toBe(false);
    expect(first.content).toEqual([{ type: 'text', text: '{"value":2}' }]);
    expect(first.structuredContent).toEqual({ value: 2 });
    const second = await call(client, 'counter.increment', { by: 3 });
    expect(second.content).toEqual([{ type: 'text', text: '{"value":5}' }]);
    const got = await call(client, 'counter.get');
    expect(got.content).toEqual([{ type: 'text', text: '{"value":5}' }]);
    // One trace entry per operation: each call moves the head by exactly one.
    expect(traceOf(second).seq).toBe(traceOf(first).seq + 1);
    expect(traceOf(got).seq).toBe(traceOf(second).seq + 1);
    expect(traceOf(got).head).toMatch(/^\d+$/);
    expect(traceOf(got).head).not.toBe(traceOf(second).head);

    await client.close();
    open.splice(0);
    // The head the last result carried is the store's, once the server has stopped.
    expect(await traceHead(store)).toEqual(traceOf(got));
  });

  it('answers a denial and a failure as isError results with their ABI code, an unknown tool as a protocol error', async () => {
    const store = await f.store();
    const { client } = await connect(store, f.consumer.kid);

    // reset is counter's, but the agreement does not permit it: the agreements plugin denies it.
    const denied = await call(client, 'counter.reset');
    expect(denied.isError).toBe(true);
    expect((denied.content as { text: string }[])[0]!.text).toMatch(/^EDENIED: .*not-permitted: agreement agr-mine does not permit agent-[0-9a-f]+\/reset$/);
    expect(denied._meta?.['mcp0/error']).toMatchObject({ code: 'EDENIED' });

    // Input the export's schema refuses never reaches a hook: no operation, no trace entry.
    const bad = await call(client, 'counter.increment', { by: 'two' });
    expect(bad.isError).toBe(true);
    expect(bad._meta?.['mcp0/error']).toMatchObject({ code: 'EINPUT' });
    expect(traceOf(bad)).toEqual(traceOf(denied));

    // notes is another consumer's agent: to this caller it does not exist, as a made-up name does not.
    for (const name of ['notes.remember', 'counter.nope', 'nothing']) {
      const unknown = await call(client, name, { text: 'x' }).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(unknown, name).toBeInstanceOf(McpError);
      expect((unknown as McpError).code).toBe(ErrorCode.InvalidParams);
      expect((unknown as McpError).message).toContain(`Unknown tool: ${name}`);
    }
    // The session survives all of it.
    expect((await call(client, 'counter.get')).content).toEqual([{ type: 'text', text: '{"value":0}' }]);
  });

  it("sends an agent's emits during a call as progress notifications", async () => {
    const store = await f.store();
    const { client } = await connect(store, f.consumer.kid);
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const result = await call(client, 'progress.steps', { n: 5 }, { onprogress: (p: (typeof progress)[number]) => progress.push(p) });
    expect(result.content).toEqual([{ type: 'text', text: '{"steps":5}' }]);
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5]);
    expect(progress[2]).toEqual({ progress: 3, total: 5, message: 'progress: {"of":5,"step":3}' });
  });

  it("serves another consumer's tools only to that consumer", async () => {
    const store = await f.store();
    const { client } = await connect(store, f.other.pub); // a key file names the consumer too
    const { tools } = await client.listTools(undefined, { timeout: 120_000 });
    expect(tools.map((t) => t.name).sort()).toEqual(['notes.forget', 'notes.list', 'notes.recall', 'notes.remember']);
    const remembered = await call(client, 'notes.remember', { text: 'from MCP' });
    expect(remembered.isError ?? false, JSON.stringify(remembered)).toBe(false);
    expect(JSON.parse((remembered.content as { text: string }[])[0]!.text)).toEqual({ id: expect.any(Number) });
  });

  it('refuses a command line it cannot serve, before a node starts (exit 2)', async () => {
    const store = await f.store();
    const cases: [string[], RegExp][] = [
      [[], /stdio needs --consumer/],
      [['--consumer', 'nobody'], /expected a key id/],
      [['--tokens', 'x.json', '--consumer', f.consumer.kid], /--tokens go with --http/],
      [['--http', '127.0.0.1:0', '--consumer', f.consumer.kid], /--consumer is for stdio/],
      [['--http', '127.0.0.1:0'], /--http needs --tokens/],
      [['--http', '0.0.0.0:0', '--anonymous', f.consumer.kid], /not a loopback address; serving beyond this machine needs --listen-public/],
      [['--http', '0.0.0.0:0', '--listen-public', '--anonymous', f.consumer.kid], /on a loopback address only/],
      [['--http', 'localhost'], /expected <host>:<port>/],
    ];
    for (const [argv, message] of cases) {
      const r = await run('mcp', ...f.nodeArgs(store), ...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
  });
});
