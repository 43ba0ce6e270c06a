/**
 * `mcp0 mcp --http`: Streamable HTTP, served by a child process and reached with the official
 * MCP SDK's Client and with raw requests (to send what a client would not: no token, a foreign
 * Host, a foreign Origin). Covered: each token's client sees its own consumer's tools and its
 * calls are operations with their trace head; 401 without a token or with an unknown one; 403 for
 * a Host that is not the server's and an Origin not allowed, and for a session used with another
 * consumer's token; 503 past the session cap until a session is closed; an idle session closed;
 * --anonymous on loopback.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KEYRING, tempDir, watchOutput, type WatchedOutput } from './helpers.js';
import { bin, prepare, type McpFixture } from './mcp-setup.js';

let f: McpFixture;
let tokensFile: string;
const mine = 'mine-0123456789abcdefghijklmnopqrstuv';
const theirs = 'theirs-0123456789abcdefghijklmnopqrstuv';

beforeAll(async () => {
  f = await prepare();
  tokensFile = join(tempDir('mcp0-mcp-tokens-'), 'tokens.json');
  writeFileSync(
    tokensFile,
    JSON.stringify({
      tokens: [
        { token: mine, consumer: f.consumer.kid, name: 'mine' },
        { token: theirs, consumer: f.other.kid, name: 'theirs' },
      ],
    }),
    { mode: 0o600 },
  );
}, 300_000);

interface Served {
  url: URL;
  output: WatchedOutput;
  stop(): Promise<string>;
}
const running: Served[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  for (const s of running.splice(0)) await s.stop();
});

/** `mcp0 mcp --http 127.0.0.1:0 --json` on a fresh store, until it says ready. */
async function serve(...extra: string[]): Promise<Served> {
  const store = await f.store();
  const child = spawn(process.execPath, ['--no-warnings', bin, 'mcp', ...f.nodeArgs(store), '--http', '127.0.0.1:0', '--json', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MCP0_KEYRING: KEYRING, NODE_OPTIONS: '' },
  });
  const output = watchOutput(child);
  const ready = await Promise.race([output.printed('"ready"').then(() => 'ready'), output.exited]);
  expect(ready, output.err()).toBe('ready');
  const served: Served = {
    url: new URL(JSON.parse(output.out().trim().split('\n')[0]!).url),
    output,
    stop: async () => {
      child.kill('SIGTERM');
      return output.exited;
    },
  };
  running.push(served);
  return served;
}

/** An SDK client of `url` with `token` (none: no Authorization header). */
async function connect(url: URL, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(url, token === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'mcp0-test', version: '0.0.0' });
  await client.connect(transport, { timeout: 120_000 });
  clients.push(client);
  return client;
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

/** A raw request to the server, with exactly the headers given (node:http lets a test set Host): status, headers, body. */
function raw(
  url: URL,
  headers: Record<string, string>,
  method = 'POST',
  body: string | null = INITIALIZE,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: { accept: 'application/json, text/event-stream', ...(body === null ? {} : { 'content-type': 'application/json' }), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('mcp0 mcp over Streamable HTTP', () => {
  it("gives each token's client its consumer's tools, and runs its calls as traced operations", async () => {
    const server = await serve('--tokens', tokensFile);
    const client = await connect(server.url, mine);
    const { tools } = await client.listTools(undefined, { timeout: 120_000 });
    expect(tools.map((t) => t.name).sort(), server.output.err()).toEqual(['counter.get', 'counter.increment', 'progress.steps']);
    const call = (name: string, args: Record<string, unknown> = {}) =>
      client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }) as Promise<CallToolResult>;
    const one = await call('counter.increment', { by: 4 });
    expect(one.content).toEqual([{ type: 'text', text: '{"value":4}' }]);
    const two = await call('counter.get');
    expect(two.content).toEqual([{ type: 'text', text: '{"value":4}' }]);
    const seq = (r: CallToolResult) => (r._meta?.['mcp0/trace'] as { seq: number }).seq;
    expect(seq(two)).toBe(seq(one) + 1);
    const denied = await call('counter.reset');
    expect(denied.isError).toBe(true);
    expect(denied._meta?.['mcp0/error']).toMatchObject({ code: 'EDENIED' });

    const other = await connect(server.url, theirs);
    expect((await other.listTools(undefined, { timeout: 120_000 })).tools.map((t) => t.name).sort()).toEqual([
      'notes.forget',
      'notes.list',
      'notes.recall',
      'notes.remember',
    ]);
    await expect(other.callTool({ name: 'counter.get', arguments: {} }, undefined, { timeout: 120_000 })).rejects.toThrow(/Unknown tool: counter.get/);
    expect(server.output.err()).toMatch(/session \S+ opened for consumer /);
  });

  it('refuses a client without a token or with an unknown one (401), a foreign Host or Origin (403), another consumer on a session (403)', async () => {
    const server = await serve('--tokens', tokensFile);
    const none = await raw(server.url, {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    expect((await raw(server.url, bearer('x'.repeat(40)))).status).toBe(401);
    expect((await raw(server.url, { authorization: `Basic ${mine}` })).status).toBe(401);
    await expect(connect(server.url)).rejects.toThrow();

    // DNS rebinding: a page at evil.example whose name now points here sends its own name as Host.
    const host = await raw(server.url, { ...bearer(mine), host: `evil.example:${server.url.port}` });
    expect(host.status).toBe(403);
    expect(JSON.parse(host.body).error.message).toMatch(/Host "evil.example:\d+" is not this server's/);
    expect((await raw(server.url, { ...bearer(mine), host: `127.0.0.1:${Number(server.url.port) + 1}` })).status).toBe(403);
    const origin = await raw(server.url, { ...bearer(mine), origin: 'http://evil.example' });
    expect(origin.status).toBe(403);
    expect(JSON.parse(origin.body).error.message).toMatch(/Origin "http:\/\/evil.example" is not allowed/);
    expect((await raw(server.url, { ...bearer(mine), host: `localhost:${server.url.port}`, origin: `http://localhost:${server.url.port}` })).status).toBe(200);

    const opened = await raw(server.url, bearer(mine));
    expect(opened.status).toBe(200);
    const session = opened.headers['mcp-session-id'] as string;
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    const stolen = await raw(server.url, { ...bearer(theirs), 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, 'POST', list);
    expect(stolen.status).toBe(403);
    expect((await raw(server.url, { ...bearer(mine), 'mcp-session-id': 'no-such-session' }, 'POST', list)).status).toBe(404);
    expect((await raw(new URL('/other', server.url), bearer(mine))).status).toBe(404);
  });

  it('caps the sessions open at once, and takes a new one when one is closed', async () => {
    const server = await serve('--tokens', tokensFile, '--max-sessions', '2');
    const first = await raw(server.url, bearer(mine));
    const second = await raw(server.url, bearer(theirs));
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await raw(server.url, bearer(mine));
    expect(third.status).toBe(503);
    expect(JSON.parse(third.body).error.message).toMatch(/too many sessions: at most 2/);
    const closed = await raw(
      server.url,
      { ...bearer(mine), 'mcp-session-id': first.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-06-18' },
      'DELETE',
      null,
    );
    expect(closed.status, closed.body).toBe(200);
    expect((await raw(server.url, bearer(mine))).status).toBe(200);
  });

  it('closes an idle session', async () => {
    const server = await serve('--tokens', tokensFile, '--session-idle', '1');
    const opened = await raw(server.url, bearer(mine));
    const session = opened.headers['mcp-session-id'] as string;
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    // Polled with a generous deadline: the sweep closes it some time after a second unused.
    const deadline = Date.now() + 60_000;
    let status = 0;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      if (server.output.err().includes(`session ${session} closed`)) break;
    }
    status = (await raw(server.url, { ...bearer(mine), 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }, 'POST', list)).status;
    expect(status, server.output.err()).toBe(404);
    expect(server.output.err()).toMatch(new RegExp(`session ${session} idle for \\d+ s: closing it`));
  });

  it('lets clients without a token in as the --anonymous consumer, on loopback', async () => {
    const server = await serve('--anonymous', f.other.kid);
    const client = await connect(server.url);
    expect((await client.listTools(undefined, { timeout: 120_000 })).tools.map((t) => t.name)).toContain('notes.remember');
    // A token it does not know is refused, not taken as anonymous.
    expect((await raw(server.url, bearer(mine))).status).toBe(401);
    expect(await server.stop()).toBe('0 null');
    running.splice(0);
    expect(server.output.out()).toContain('"event":"stopped"');
  });
});
