/**
 * MCP benchmark (`node --no-warnings --expose-gc bench/mcp.js [--quick]`, after `npm run build`):
 * what `mcp0 mcp` adds to a tool call, and what its HTTP sessions leave behind (issue 16).
 *
 * Calls: the counter agent's `increment` on the standard distribution (storage, agreements
 * admitting and metering, trace), one call at a time, side by side in one run:
 * - in process: `agent.execute` on a node opened here;
 * - in process through MCP: the SDK `Client` and `mcp0 mcp`'s own server (tools/dist, the code
 *   `mcp0 mcp` runs) joined by the SDK's in-memory transport: the MCP layer without a process
 *   boundary or a wire;
 * - over stdio: `mcp0 mcp --consumer …` spawned by the SDK's `StdioClientTransport`;
 * - over Streamable HTTP: `mcp0 mcp --http 127.0.0.1:0 --tokens …`, the SDK's
 *   `StreamableHTTPClientTransport` with the bearer token;
 * - the floor: a bare SDK `McpServer` with one echo tool (bench/mcp-echo.js), over the same two
 *   transports in a child process: the SDK, the transport and the process boundary, no node.
 * Target: over stdio and over HTTP, the call minus the in-process call is at most 1 ms at p50.
 *
 * Sessions: 10,000 create/delete cycles (a raw `initialize` POST, then DELETE of its session)
 * against one `mcp0 mcp --http` process; its RSS (VmRSS of /proc/<pid>/status) after 100 warm-up
 * cycles and a full GC, and after the 10,000 and a full GC. Target: at most 5 MB of growth. It is
 * a benchmark, not a test, because the machines are shared: see bench/README.md.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ROOT } from './lib/fixtures.js';
import { BIN, prepareMcp, rssOf } from './lib/mcp.js';
import { measure } from './lib/measure.js';
import { figuresTable, writeJson } from './lib/report.js';

const quick = process.argv.includes('--quick');
const log = (msg) => process.stderr.write(`${msg}\n`);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim();
const loadStart = loadavg();
const started = Date.now();
log(`mcp: load average ${loadStart}`);
const TARGET_MS = 1;
const TARGET_RSS_MB = 5;
const CYCLES = quick ? 1_000 : 10_000;
const WARMUP_CYCLES = 100;
const ECHO = join(ROOT, 'bench/mcp-echo.js');
const GC_HOOK = join(ROOT, 'bench/lib/gc-on-signal.js');
const timeout = { timeout: 120_000 };

const f = await prepareMcp();
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Spawns a server, keeps the tail of its stderr (sessions log a line each: the pipe must be drained), resolves on its stdout `ready` line. */
async function serve(args, env = f.env) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  const out = { err: '', lines: new Map(), waiters: [] };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    out.err = (out.err + s).slice(-16_384);
    for (const w of out.waiters.splice(0)) if (!w(s)) out.waiters.push(w);
  });
  child.stdout.setEncoding('utf8');
  let stdout = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 180 s\n${out.err}`)), 180_000);
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`server exited (${code})\n${out.err}`))));
    child.stdout.on('data', (s) => {
      stdout += s;
      const m = /"url":"([^"]+)"|^ready (\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(new URL(m[1] ?? m[2]));
      }
    });
  });
  return {
    child,
    url,
    /** Resolves on the next stderr chunk containing `text`. */
    said: (text) => new Promise((resolve) => out.waiters.push((s) => (s.includes(text) ? (resolve(), true) : false))),
    err: () => out.err,
  };
}

async function connect(transport) {
  const client = new Client({ name: 'mcp0-bench', version: '0.0.0' });
  await client.connect(transport, timeout);
  return client;
}
const httpTransport = (url) => new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${f.token}` } } });

/** One call, checked: a failed tool call must not be measured as a fast one. */
const checked = (client, name) => async () => {
  const r = await client.callTool({ name, arguments: {} }, undefined, timeout);
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
  return r;
};

/** A raw node:http request maker for `url` (keep-alive through `agent`), with the bearer token: what no SDK client adds. */
function rawSender(url, agent) {
  return (method, headers, body) =>
    new Promise((resolve, reject) => {
      const req = request(
        url,
        { method, agent, headers: { authorization: `Bearer ${f.token}`, accept: 'application/json, text/event-stream', ...headers } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

log('mcp: building counter, preparing four stores …');
const stores = [];
for (let i = 0; i < 4; i++) stores.push(await f.store());

// (a) in process, and the same node behind mcp0's own MCP server over the in-memory transport.
const { mcpServer } = await import('@mcp0/tools/mcp');
const node = await f.open(stores[0]);
const agent = node.agents.get('counter');
const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
const inMemoryServer = mcpServer({ node, consumer: f.consumer.kid, version: '0.0.0' });
await inMemoryServer.connect(serverSide);
const inMemory = await connect(clientSide);

// (b) stdio, (c) HTTP, and the bare echo servers.
const stdioTransport = new StdioClientTransport({
  command: process.execPath,
  args: ['--no-warnings', BIN, 'mcp', ...f.nodeArgs(stores[1]), '--consumer', f.consumer.kid],
  env: f.env,
  stderr: 'pipe',
});
let stdioErr = '';
stdioTransport.stderr?.on('data', (d) => (stdioErr = (stdioErr + d).slice(-8192)));
const stdio = await connect(stdioTransport).catch((e) => {
  throw new Error(`${e.message}\n${stdioErr}`);
});
const httpServer = await serve(['--no-warnings', BIN, 'mcp', ...f.nodeArgs(stores[2]), '--http', '127.0.0.1:0', '--tokens', f.tokensFile, '--json']);
const http = await connect(httpTransport(httpServer.url));
const echoEnv = { ...f.env, MCP0_BENCH_TOKEN: f.token };
const echoStdio = await connect(new StdioClientTransport({ command: process.execPath, args: ['--no-warnings', ECHO, '--stdio'], env: echoEnv }));
const echoHttpServer = await serve(['--no-warnings', ECHO, '--http'], echoEnv);
const echoHttp = await connect(httpTransport(echoHttpServer.url));
// The same echo over HTTP with a raw keep-alive node:http client: the server and the wire without the SDK's client.
/** A raw tools/call of `name` over a session of `url` opened with raw requests. */
async function rawCaller(url, name) {
  const send = rawSender(url, new Agent({ keepAlive: true, maxSockets: 1 }));
  const init = await send(
    'POST',
    { 'content-type': 'application/json' },
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
    }),
  );
  const headers = { 'content-type': 'application/json', 'mcp-session-id': init.headers['mcp-session-id'], 'mcp-protocol-version': '2025-06-18' };
  await send('POST', headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: {} } });
  const call = async () => {
    const r = await send('POST', headers, body);
    if (r.status !== 200 || !r.body.includes('"result"') || r.body.includes('"isError":true'))
      throw new Error(`raw ${name}: ${r.status} ${r.body.slice(0, 300)}`);
  };
  await call();
  return call;
}
const rawEchoCall = await rawCaller(echoHttpServer.url, 'echo');
const rawHttpCall = await rawCaller(httpServer.url, 'counter.increment');

// Every path is checked to do what it claims before it is timed.
const before = (await agent.execute('increment', {})).value;
for (const [label, client] of [
  ['in-memory MCP', inMemory],
  ['stdio', stdio],
  ['HTTP', http],
]) {
  const { tools } = await client.listTools(undefined, timeout);
  if (!tools.some((t) => t.name === 'counter.increment')) throw new Error(`${label}: no counter.increment tool in ${tools.map((t) => t.name)}`);
  const r = await checked(client, 'counter.increment')();
  if (!(r.structuredContent?.value >= 1)) throw new Error(`${label}: unexpected result ${JSON.stringify(r)}`);
}
if ((await agent.execute('increment', {})).value !== Number(before) + 2) throw new Error('in process: the in-memory MCP call did not reach the same counter');
for (const client of [echoStdio, echoHttp]) await checked(client, 'echo')();

log(`mcp: ${quick ? 'quick' : 'full'} run, one call at a time …`);
const tasks = [
  { id: 'in-process', label: 'counter.increment, agent.execute', fn: () => agent.execute('increment', {}) },
  { id: 'in-memory', label: "counter.increment, SDK Client ↔ mcp0's server in memory", fn: checked(inMemory, 'counter.increment') },
  { id: 'stdio', label: 'counter.increment, mcp0 mcp over stdio', fn: checked(stdio, 'counter.increment') },
  { id: 'http', label: 'counter.increment, mcp0 mcp over Streamable HTTP', fn: checked(http, 'counter.increment') },
  { id: 'http-raw', label: 'the same, raw node:http client (keep-alive)', fn: rawHttpCall },
  { id: 'echo-stdio', label: 'bare SDK McpServer echo over stdio', fn: checked(echoStdio, 'echo') },
  { id: 'echo-http', label: 'bare SDK McpServer echo over Streamable HTTP', fn: checked(echoHttp, 'echo') },
  { id: 'echo-http-raw', label: 'the same echo, raw node:http client (keep-alive)', fn: rawEchoCall },
];
const stats = await measure(tasks, { timeMs: quick ? 1_500 : 8_000, rounds: 2, onRound: (r) => log(`mcp: round ${r + 1} of 2 …`) });
for (const c of [inMemory, stdio, http, echoStdio, echoHttp]) await c.close().catch(() => undefined);
await inMemoryServer.close().catch(() => undefined);
await node.stop();
for (const s of [httpServer, echoHttpServer]) s.child.kill('SIGTERM');

const rows = tasks.map((t) => ({ id: t.id, group: 'one at a time', label: t.label, stats: stats.get(t.id) }));
console.log(`\n${figuresTable(rows)}\n`);
const s = (id) => stats.get(id);
const ms = (us) => (us / 1000).toFixed(3);
const added = [];
for (const [name, over] of [
  ['stdio − in process', 'stdio'],
  ['HTTP − in process', 'http'],
]) {
  const p50 = (s(over).p50Us - s('in-process').p50Us) / 1000;
  const mean = (s(over).meanUs - s('in-process').meanUs) / 1000;
  added.push({ name, p50Ms: p50, meanMs: mean, targetMs: TARGET_MS, on: 'p50', verdict: p50 <= TARGET_MS ? 'PASS' : 'FAIL' });
}
const parts = [
  { name: "mcp0's MCP layer in memory − in process (the SDK's protocol + mcp0's server, no wire)", a: 'in-memory', b: 'in-process' },
  { name: 'stdio − in memory (the wire and the process boundary)', a: 'stdio', b: 'in-memory' },
  { name: 'HTTP − in memory', a: 'http', b: 'in-memory' },
  { name: 'HTTP with a raw node:http client − in memory', a: 'http-raw', b: 'in-memory' },
  { name: 'bare echo over stdio', a: 'echo-stdio' },
  { name: 'bare echo over HTTP', a: 'echo-http' },
  { name: 'bare echo over HTTP, raw node:http client', a: 'echo-http-raw' },
  { name: "the SDK's HTTP client (SDK echo − raw echo)", a: 'echo-http', b: 'echo-http-raw' },
].map((p) => ({ name: p.name, p50Ms: (s(p.a).p50Us - (p.b ? s(p.b).p50Us : 0)) / 1000, meanMs: (s(p.a).meanUs - (p.b ? s(p.b).meanUs : 0)) / 1000 }));
console.log('what MCP adds per call          p50 ms   mean ms   target       verdict');
for (const a of added)
  console.log(`${a.name.padEnd(30)} ${ms(a.p50Ms * 1000).padStart(7)}  ${ms(a.meanMs * 1000).padStart(8)}   ≤ ${TARGET_MS} ms (p50)  ${a.verdict}`);
console.log('\nwhere it goes (p50 ms, mean ms):');
for (const p of parts) console.log(`  ${p.name}: ${ms(p.p50Ms * 1000)}, ${ms(p.meanMs * 1000)}`);
console.log(`\ncalls per second, one at a time: ${rows.map((r) => `${r.id} ${Math.round(r.stats.opsPerSec)}`).join(', ')}`);

// Sessions: raw initialize + DELETE against one fresh server, keep-alive, one at a time.
log(`mcp: ${CYCLES} session create/delete cycles over HTTP …`);
const sessionServer = await serve([
  '--no-warnings',
  '--expose-gc',
  '--import',
  GC_HOOK,
  BIN,
  'mcp',
  ...f.nodeArgs(stores[3]),
  '--http',
  '127.0.0.1:0',
  '--tokens',
  f.tokensFile,
  '--json',
]);
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
const send = rawSender(sessionServer.url, keepAlive);
const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcp0-bench', version: '0' } },
});
async function cycle() {
  const opened = await send('POST', { 'content-type': 'application/json' }, INITIALIZE);
  const id = opened.headers['mcp-session-id'];
  if (opened.status !== 200 || typeof id !== 'string' || !opened.body.includes('"serverInfo"'))
    throw new Error(`initialize: ${opened.status} ${opened.body.slice(0, 300)}\n${sessionServer.err()}`);
  const closed = await send('DELETE', { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
  if (closed.status !== 200) throw new Error(`DELETE: ${closed.status} ${closed.body.slice(0, 300)}`);
}
const pid = sessionServer.child.pid;
async function rssAfterGc() {
  const done = sessionServer.said('mcp0-bench: gc done');
  sessionServer.child.kill('SIGUSR2');
  await done;
  return rssOf(pid);
}
for (let i = 0; i < WARMUP_CYCLES; i++) await cycle();
const rssBefore = await rssAfterGc();
const checkpoints = [{ cycles: 0, rss: rssBefore }];
const cycleStart = process.hrtime.bigint();
const every = CYCLES / 5;
for (let i = 1; i <= CYCLES; i++) {
  await cycle();
  if (i % every === 0) checkpoints.push({ cycles: i, rss: await rssAfterGc() });
}
const cycleSeconds = Number(process.hrtime.bigint() - cycleStart) / 1e9;
const rssAfter = checkpoints.at(-1).rss;
const lastClosed = /session \S+ closed \((\d+) open\)/g;
const openAtEnd = [...sessionServer.err().matchAll(lastClosed)].at(-1)?.[1];
keepAlive.destroy();
sessionServer.child.kill('SIGTERM');
const mb = (b) => (b / 2 ** 20).toFixed(1);
const growthMb = (rssAfter - rssBefore) / 2 ** 20;
const rssVerdict = growthMb <= TARGET_RSS_MB ? 'PASS' : 'FAIL';
console.log(
  `\nsessions: ${CYCLES} create/delete cycles in ${cycleSeconds.toFixed(1)} s (${Math.round(CYCLES / cycleSeconds)} cycles/s, GC pauses for the checkpoints included); sessions open at the end: ${openAtEnd ?? '?'}`,
);
console.log(`server RSS after GC: ${checkpoints.map((c) => `${c.cycles}: ${mb(c.rss)} MB`).join(', ')}`);
console.log(
  `growth over ${CYCLES} cycles: ${growthMb.toFixed(1)} MB (target ≤ ${TARGET_RSS_MB} MB for 10,000: ${rssVerdict}${quick ? ', quick run: fewer cycles' : ''})`,
);

const loadEnd = loadavg();
console.log(`\nload average (/proc/loadavg): start ${loadStart}, end ${loadEnd}`);
writeJson(join(ROOT, 'bench/results/mcp.json'), {
  suite: 'mcp0 bench/mcp.js',
  date: new Date().toISOString(),
  durationS: (Date.now() - started) / 1000,
  quick,
  env: { node: process.version, loadavgStart: loadStart, loadavgEnd: loadEnd, gcExposed: typeof globalThis.gc === 'function' },
  results: rows.map((r) => ({ id: r.id, label: r.label, ...r.stats })),
  added,
  parts,
  sessions: { cycles: CYCLES, warmup: WARMUP_CYCLES, seconds: cycleSeconds, checkpoints, growthMb, targetMb: TARGET_RSS_MB, verdict: rssVerdict },
});
f.cleanup();
process.exit(0);
