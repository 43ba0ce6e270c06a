/**
 * The floor for bench/mcp.js: a bare MCP server of the official SDK (`McpServer`) with one tool,
 * `echo`, that answers its arguments as text at once. `--stdio` serves stdin/stdout; `--http`
 * serves Streamable HTTP on 127.0.0.1 (port 0), one transport per session as `mcp0 mcp --http`
 * does, with the same bearer check, and prints `ready <url>`. Whatever a tool call costs here is
 * the SDK, the transport and the process boundary, with no node behind it.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

function echoServer() {
  const server = new McpServer({ name: 'bench-echo', version: '0.0.0' });
  server.registerTool('echo', { description: 'answers its arguments', inputSchema: {} }, async (args) => ({
    content: [{ type: 'text', text: JSON.stringify(args ?? {}) }],
  }));
  return server;
}

if (process.argv.includes('--stdio')) {
  await echoServer().connect(new StdioServerTransport());
} else {
  const token = process.env.MCP0_BENCH_TOKEN ?? '';
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const id = req.headers['mcp-session-id'];
    const known = id === undefined ? undefined : sessions.get(id);
    if (known) return known.handleRequest(req, res);
    if (id !== undefined) return void res.writeHead(404).end();
    const server = echoServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => sessions.set(sid, transport),
    });
    transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  http.listen(0, '127.0.0.1', () => process.stdout.write(`ready http://127.0.0.1:${http.address().port}/mcp\n`));
}
