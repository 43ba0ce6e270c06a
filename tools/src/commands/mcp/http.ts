/**
 * `mcp0 mcp --http`: the node's tools over MCP's Streamable HTTP transport (the SDK's
 * `StreamableHTTPServerTransport`, one per session, on node:http). What stands before a session:
 * - the address is loopback unless the operator says `--listen-public`;
 * - the Host header must name this server and an Origin header, when a browser sends one, must be
 *   an allowed origin (DNS rebinding: a page elsewhere must not reach a local server through a
 *   name it controls). Checked here, before any session exists, rather than with the SDK's
 *   per-transport options, which are deprecated and run only once a transport has the request;
 * - a bearer token maps the client to a consumer key, whose agreement then applies; without one,
 *   401, unless `--anonymous <key id>` names the consumer of token-less clients, on loopback only;
 * - a session belongs to the consumer that opened it: a request for it with another token is 403;
 * - sessions are capped in number (503 past the cap) and closed after an idle time.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallError, UsageError } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { DEFAULT_IDLE_MS, DEFAULT_MAX_SESSIONS, MCP_PATH, isLoopback, splitHostPort } from './address.js';
import { mcpServer } from './server.js';
import { holderOf, type Tokens } from './tokens.js';

/**
 * How `serveMcpHttp` listens and whom it lets in.
 * @example
 * const options: McpHttpOptions = { node, version: '0.1.0', listen: '127.0.0.1:0', tokens }
 */
export interface McpHttpOptions {
  node: Node;
  version: string;
  /** `host:port` (`[::1]:port` for IPv6); port 0 picks a free one. */
  listen: string;
  /** Allow an address that is not loopback. */
  listenPublic?: boolean;
  /** Bearer tokens → consumer key ids. */
  tokens?: Tokens;
  /** The consumer key id of clients without a token; loopback only. */
  anonymous?: string;
  /** More `host[:port]` values the Host header may carry (the names the server is reached by). */
  allowHosts?: readonly string[];
  /** Origins (`scheme://host[:port]`) browsers may call from, beyond the server's own. */
  allowOrigins?: readonly string[];
  maxSessions?: number;
  idleMs?: number;
  /** Resources per `resources/list` page. */
  resourcePage?: number;
  /** Where to say what happens (sessions opened and closed, refusals). */
  log?: (line: string) => void;
}

/**
 * A running MCP HTTP endpoint.
 * @example
 * const http = await serveMcpHttp({ node, version, listen: '127.0.0.1:0', anonymous: me.kid }); http.url
 */
export interface McpHttpServer {
  /** `http://host:port/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Sessions open now. */
  readonly sessions: number;
  /** Closes every session and the listener. */
  close(): Promise<void>;
}

/** One session: its transport and server, whose consumer it is, when it was last used, POSTs in flight. */
interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  consumer: string;
  lastSeen: number;
  busy: number;
}

/** Answers a refusal as a JSON-RPC error, which MCP clients read. */
function refuse(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

/**
 * Serves the node's tools over Streamable HTTP at `http://<listen>/mcp`.
 * @example
 * const http = await serveMcpHttp({ node, version: '0.1.0', listen: '127.0.0.1:7050', tokens: await readTokens('tokens.json') })
 * process.once('SIGTERM', () => http.close())
 */
export async function serveMcpHttp(options: McpHttpOptions): Promise<McpHttpServer> {
  const { host, port: wanted } = splitHostPort(options.listen);
  const loopback = isLoopback(host);
  if (!loopback && options.listenPublic !== true)
    throw new UsageError(
      'EUSAGE',
      `--http ${options.listen}: not a loopback address; serving beyond this machine needs --listen-public (and a TLS proxy in front)`,
    );
  if (options.anonymous !== undefined && !loopback)
    throw new UsageError('EUSAGE', `--anonymous: clients without a token are let in on a loopback address only, not on ${host}`);
  if (options.tokens === undefined && options.anonymous === undefined)
    throw new UsageError('EUSAGE', '--http needs --tokens <file> (bearer token → consumer key), or --anonymous <key id> on a loopback address');
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  const log = options.log ?? (() => undefined);
  const sessions = new Map<string, Session>();
  /** Sessions being opened: counted against the cap so racing initializations cannot pass it. */
  let opening = 0;
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();

  /** The consumer of this request, or a refusal already answered. */
  function consumerOf(req: IncomingMessage, res: ServerResponse): string | undefined {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const holder = options.tokens === undefined ? undefined : holderOf(options.tokens, authorization);
      if (holder) return holder.consumer;
      refuse(res, 401, 'unauthorised: the bearer token is not one this server knows', { 'www-authenticate': 'Bearer realm="mcp0", error="invalid_token"' });
      return undefined;
    }
    if (options.anonymous !== undefined) return options.anonymous;
    refuse(res, 401, 'unauthorised: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer realm="mcp0"' });
    return undefined;
  }

  async function open(req: IncomingMessage, res: ServerResponse, consumer: string): Promise<void> {
    if (sessions.size + opening >= maxSessions) {
      refuse(res, 503, `too many sessions: at most ${maxSessions} are open at once; close one (DELETE) or retry later`, { 'retry-after': '5' });
      return;
    }
    opening++;
    const server = mcpServer({
      node: options.node,
      consumer,
      version: options.version,
      ...(options.resourcePage === undefined ? {} : { resourcePage: options.resourcePage }),
    });
    let session: Session | undefined;
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session = { transport, server, consumer, lastSeen: Date.now(), busy: 1 };
        sessions.set(id, session);
        log(`session ${id} opened for consumer ${consumer} (${sessions.size} open)`);
      },
    });
    server.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && sessions.delete(id)) log(`session ${id} closed (${sessions.size} open)`);
    };
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res);
    } finally {
      opening--;
      if (session) session.busy--;
      // Not an initialize request (the transport answered 400): nothing to keep.
      else await server.close().catch(() => undefined);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== MCP_PATH) return refuse(res, 404, `not found: the MCP endpoint is ${MCP_PATH}`);
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(hostHeader)) {
      log(`refused: Host ${JSON.stringify(hostHeader.slice(0, 80))}`);
      return refuse(res, 403, `forbidden: Host ${JSON.stringify(hostHeader.slice(0, 80))} is not this server's (DNS rebinding protection)`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) {
      log(`refused: Origin ${JSON.stringify(origin.slice(0, 80))}`);
      return refuse(res, 403, `forbidden: Origin ${JSON.stringify(origin.slice(0, 80))} is not allowed (--allow-origin)`);
    }
    const consumer = consumerOf(req, res);
    if (consumer === undefined) return;
    const header = req.headers['mcp-session-id'];
    const id = Array.isArray(header) ? header[0] : header;
    if (id === undefined) {
      if (req.method !== 'POST') return refuse(res, 400, 'bad request: no Mcp-Session-Id; open a session with an initialize POST');
      return open(req, res, consumer);
    }
    const session = sessions.get(id);
    if (session === undefined) return refuse(res, 404, 'session not found: it was closed or never opened; initialize again');
    if (session.consumer !== consumer) return refuse(res, 403, 'forbidden: this session belongs to another consumer');
    session.lastSeen = Date.now();
    // A POST in flight (a tool call) keeps the session from idling out; a GET stream left open does not.
    if (req.method === 'POST') {
      session.busy++;
      res.once('close', () => {
        session.busy--;
        session.lastSeen = Date.now();
      });
    }
    await session.transport.handleRequest(req, res);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`request failed: ${(e as Error).message}`);
      refuse(res, 500, 'internal error');
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    http.once('error', (e) => reject(new CallError('EUNAVAILABLE', `--http ${options.listen}: ${e.message}`, { listen: options.listen })));
    http.listen(wanted, host, () => resolve((http.address() as AddressInfo).port));
  });
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const names = loopback ? ['127.0.0.1', 'localhost', '[::1]', bracketed.toLowerCase()] : [bracketed.toLowerCase()];
  allowedHosts = new Set([
    ...names.map((n) => `${n}:${port}`),
    ...(options.allowHosts ?? []).map((h) => (h.includes(':') && !h.endsWith(']') ? h : `${h}:${port}`).toLowerCase()),
  ]);
  allowedOrigins = new Set([...[...allowedHosts].map((h) => `http://${h}`), ...(options.allowOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, ''))]);

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, s] of sessions) {
        if (s.busy === 0 && now - s.lastSeen > idleMs) {
          log(`session ${id} idle for ${Math.round((now - s.lastSeen) / 1000)} s: closing it`);
          void s.server.close().catch(() => undefined);
        }
      }
    },
    Math.max(50, Math.min(idleMs / 4, 30_000)),
  );
  sweep.unref();

  return {
    url: `http://${bracketed}:${port}${MCP_PATH}`,
    port,
    get sessions() {
      return sessions.size;
    },
    async close() {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.server.close().catch(() => undefined)));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
