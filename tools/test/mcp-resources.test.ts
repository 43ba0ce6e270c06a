/**
 * `mcp0 mcp`'s resources over stdio, driven by the official MCP SDK's Client: the trace head (equal
 * to `mcp0 trace head`), the newest signed checkpoint, trace entries, and the caller's agents and
 * their state, listed in pages through cursors and read one by one. Reading is not an operation
 * (the head does not move); another consumer's agent is invisible and reads as a missing one; a
 * hostile URI or cursor is a typed error and the server goes on serving.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ErrorCode, McpError, type CallToolResult, type Resource } from '@modelcontextprotocol/sdk/types.js';
import { CheckpointLog, openStore, readTraceHead, signCheckpoint } from '@mcp0/sdk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEYRING } from './helpers.js';
import { bin, prepare, traceHead, type McpFixture } from './mcp-setup.js';

/** MCP's "resource not found". */
const NOT_FOUND = -32002;
const T = { timeout: 120_000 };

let f: McpFixture;
beforeAll(async () => {
  f = await prepare();
}, 300_000);

const open: Client[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});

/** A client of `mcp0 mcp --consumer <consumer> --resource-page <page>` on `store`, over stdio. */
async function connect(store: string, consumer: string, page = 2): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--no-warnings', bin, 'mcp', ...f.nodeArgs(store), '--consumer', consumer, '--resource-page', String(page)],
    env: { ...(process.env as Record<string, string>), MCP0_KEYRING: KEYRING, NODE_OPTIONS: '' },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'mcp0-test', version: '0.0.0' });
  await client.connect(transport, T);
  open.push(client);
  return client;
}

async function close(client: Client): Promise<void> {
  await client.close();
  open.splice(open.indexOf(client), 1);
}

/** Every resource, page by page; each page's size is checked against `page`. */
async function listAll(client: Client, page: number): Promise<{ resources: Resource[]; pages: number }> {
  const resources: Resource[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const got = await client.listResources(cursor === undefined ? {} : { cursor }, T);
    expect(got.resources.length).toBeLessThanOrEqual(page);
    resources.push(...got.resources);
    cursor = got.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 100);
  return { resources, pages };
}

const text = async (client: Client, uri: string) => {
  const { contents } = await client.readResource({ uri }, T);
  expect(contents).toHaveLength(1);
  expect(contents[0]!.uri).toBe(uri);
  return (contents[0] as { text: string }).text;
};
const json = async (client: Client, uri: string) => JSON.parse(await text(client, uri)) as unknown;
const failure = (client: Client, uri: string) =>
  client.readResource({ uri }, T).then(
    () => new Error(`${uri} was read`),
    (e: unknown) => e,
  );
const call = (client: Client, name: string, args: Record<string, unknown> = {}) =>
  client.callTool({ name, arguments: args }, undefined, T) as Promise<CallToolResult>;

describe('mcp0 mcp resources', () => {
  it("lists the trace and the caller's own agents in pages, and reads each without an operation", async () => {
    const store = await f.store();
    const client = await connect(store, f.consumer.kid);
    expect(client.getServerCapabilities()?.resources).toBeDefined();
    expect((await call(client, 'counter.increment', { by: 2 })).isError ?? false).toBe(false);

    const { resources, pages } = await listAll(client, 2);
    expect(resources.map((r) => r.uri)).toEqual([
      'mcp0://trace/head',
      'mcp0://agents/counter',
      'mcp0://agents/counter/state/%2Fcounter',
      'mcp0://agents/progress',
    ]);
    expect(pages).toBe(2);
    expect(resources[2]).toMatchObject({ name: '/counter', size: 1 });

    const head = (await json(client, 'mcp0://trace/head')) as { seq: number; head: string };
    expect(head).toEqual({ seq: expect.any(Number), head: expect.stringMatching(/^\d+$/) });
    const counter = (await json(client, 'mcp0://agents/counter')) as Record<string, unknown>;
    expect(counter).toMatchObject({
      id: expect.stringMatching(/^agent-/),
      name: 'counter',
      state: 'running',
      agreement: 'agr-mine',
      module: { name: expect.any(String), version: expect.any(String) },
      snapshots: [],
      stateRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const { contents } = await client.readResource({ uri: 'mcp0://agents/counter/state/%2Fcounter' }, T);
    expect(contents).toEqual([{ uri: 'mcp0://agents/counter/state/%2Fcounter', mimeType: 'application/json', text: '2' }]);

    const entries = (await json(client, `mcp0://trace/entries/0-${head.seq}`)) as { seq: number; head: string; event: { intent: string } }[];
    expect(entries.map((e) => e.seq)).toEqual([...Array(head.seq + 1).keys()]);
    expect(entries.at(-1)).toMatchObject({ seq: head.seq, head: head.head, event: { intent: 'increment' } });
    const past = await failure(client, `mcp0://trace/entries/0-${head.seq + 1}`);
    expect((past as McpError).code).toBe(NOT_FOUND);
    expect((past as McpError).message).toContain(`the trace ends at seq ${head.seq}`);
    // No checkpoint has been signed yet.
    expect(((await failure(client, 'mcp0://trace/checkpoint')) as McpError).code).toBe(NOT_FOUND);

    const { resourceTemplates } = await client.listResourceTemplates({}, T);
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'mcp0://trace/entries/{from}-{to}',
      'mcp0://agents/{agent}',
      'mcp0://agents/{agent}/state/{key}',
    ]);

    // Reading is not an operation: after all of it, the head has not moved.
    expect(await json(client, 'mcp0://trace/head')).toEqual(head);
    await close(client);
    expect(await traceHead(store)).toEqual(head);
  });

  it("keeps another consumer's agent out of sight: not listed, and read as a missing one", async () => {
    const store = await f.store();
    const theirs = await connect(store, f.other.kid);
    const ids: number[] = [];
    for (const t of ['one', 'two', 'three']) {
      const r = await call(theirs, 'notes.remember', { text: t });
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      ids.push((r.structuredContent as { id: number } | undefined)?.id ?? JSON.parse((r.content as { text: string }[])[0]!.text).id);
    }
    // Their listing pages through the keys, a cursor landing between two of them.
    const { resources, pages } = await listAll(theirs, 2);
    const notes = ids.map((id) => `mcp0://agents/notes/state/%2Fmemory%2Fnotes%2F${String(id).padStart(10, '0')}`);
    expect(resources.map((r) => r.uri)).toEqual(['mcp0://trace/head', 'mcp0://agents/notes', 'mcp0://agents/notes/state/%2Fmemory%2Fnext', ...notes]);
    expect(pages).toBe(3);
    expect(await json(theirs, notes[1]!)).toMatchObject({ text: 'two' });
    await close(theirs);

    const mine = await connect(store, f.consumer.kid, 1000);
    const { resources: visible } = await listAll(mine, 1000);
    expect(visible.map((r) => r.uri).filter((u) => u.includes('notes'))).toEqual([]);
    for (const [uri, missing] of [
      ['mcp0://agents/notes', 'mcp0://agents/nobody'],
      [notes[0]!, notes[0]!.replace('/notes/', '/nobody/')],
      ['mcp0://agents/notes/state/%2Fmemory%2Fnext', 'mcp0://agents/counter/state/%2Fmemory%2Fnext'],
    ] as const) {
      const a = (await failure(mine, uri)) as McpError;
      const b = (await failure(mine, missing)) as McpError;
      expect(a, uri).toBeInstanceOf(McpError);
      expect([a.code, b.code]).toEqual([NOT_FOUND, NOT_FOUND]);
      // The same answer as for something that does not exist, but for the URI it names.
      expect(a.message.replace(uri, 'U')).toBe(b.message.replace(missing, 'U'));
      expect(a.data).toEqual(b.data);
    }
  });

  it('answers hostile URIs and cursors with typed errors and goes on serving', async () => {
    const store = await f.store();
    const client = await connect(store, f.consumer.kid);
    const invalid = [
      'mcp0://agents/counter/../notes',
      'mcp0://agents/counter/state/../../notes',
      'mcp0://agents/counter/state/%2e%2e%2F%2e%2e%2Fnotes',
      'mcp0://agents/counter/state/%2fcounter',
      'mcp0://agents/%6Eotes',
      'mcp0://agents/counter/state/%ED%A0%80',
      'mcp0://trace/entries/3-1',
      'mcp0://trace/entries/0-1000',
      'mcp0://trace/entries/0-9007199254740993',
      `mcp0://agents/counter/state/${'%41'.repeat(100_000)}`,
      'file:///etc/passwd',
    ];
    for (const uri of invalid) {
      const e = await failure(client, uri);
      expect(e, uri.slice(0, 80)).toBeInstanceOf(McpError);
      expect((e as McpError).code, uri.slice(0, 80)).toBe(ErrorCode.InvalidParams);
    }
    // A traversal spelled canonically is only a key of counter's own state, which it does not have.
    // So is a double encoding: %252F is the key "%2F…", never "/…".
    for (const uri of [
      'mcp0://agents/counter/state/..%2F..%2Fnotes',
      'mcp0://agents/counter/state/..%2Fnotes%2Fstate%2F%2Fmemory%2Fnext',
      'mcp0://agents/counter/state/%252Fcounter',
    ])
      expect(((await failure(client, uri)) as McpError).code, uri).toBe(NOT_FOUND);
    for (const cursor of ['x'.repeat(1_000_000), 'bm90IGpzb24', Buffer.from('{"n":"a","i":"b","k":7}').toString('base64url')]) {
      const e = await client.listResources({ cursor }, T).then(
        () => new Error('listed'),
        (x: unknown) => x,
      );
      expect((e as McpError).code).toBe(ErrorCode.InvalidParams);
    }
    // Still serving: the listing and a tool call work.
    expect((await client.listResources({}, T)).resources[0]!.uri).toBe('mcp0://trace/head');
    expect((await call(client, 'counter.get')).content).toEqual([{ type: 'text', text: '{"value":0}' }]);
  });

  it('serves the newest signed checkpoint once the operator has signed one', async () => {
    const store = await f.store();
    // A checkpoint signs a head: the trace needs an entry first.
    const first = await connect(store, f.consumer.kid);
    expect((await call(first, 'counter.increment', { by: 1 })).isError ?? false).toBe(false);
    await close(first);
    // What a node started with --operator-key does each minute: sign the head and keep it in its log.
    const opened = await openStore(store);
    const head = (await readTraceHead(opened.kv))!;
    const signed = signCheckpoint({ seq: head.seq, head: head.head, time: Date.now() }, f.operator);
    await new CheckpointLog(opened.kv).put(signed);
    await opened.close();
    const client = await connect(store, f.consumer.kid);
    const { resources } = await listAll(client, 2);
    expect(resources.map((r) => r.uri).slice(0, 2)).toEqual(['mcp0://trace/head', 'mcp0://trace/checkpoint']);
    const cp = (await json(client, 'mcp0://trace/checkpoint')) as Record<string, unknown>;
    expect(cp).toEqual(signed);
    expect(cp).toMatchObject({ type: 'mcp0.trace-checkpoint/1', signer: f.operator.kid });
  });
});
