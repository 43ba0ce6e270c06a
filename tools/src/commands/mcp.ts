/**
 * `mcp0 mcp`: a node served to MCP clients (desktop assistants, IDEs, agents), over stdio (what a
 * desktop client launches) or Streamable HTTP. Its tools are the intents of the agents whose
 * agreement's consumer is the caller; each call is one operation through the pipeline (the
 * agreements plugin admits and meters it, the trace records it, its state commits). Nothing that
 * manages the node (spawn, terminate, snapshots, the trace) is ever a tool. Its resources are
 * read-only views of the trace and of the caller's agents' state; reading one is not an operation.
 *
 * Who the caller is: over HTTP, the consumer key its bearer token maps to (--tokens), or the
 * --anonymous key on loopback. Over stdio, the --consumer key: the client is a process the user
 * launched on their own machine, with the same reach to the store as `mcp0 agent execute`, so
 * naming a key is a choice of whose agreements apply, not a proof of who is calling.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { type Args, type Command, type Io, intOption, listOption, stringOption } from '../command.js';
import { isKeyId } from '../keyring.js';
import { isKeyPath, readKey } from '../trust.js';
import { DEFAULT_IDLE_MS, DEFAULT_MAX_SESSIONS, isLoopback, splitHostPort } from './mcp/address.js';
import { DEFAULT_RESOURCE_PAGE, RESOURCE_PAGE_RANGE } from './mcp/paging.js';
import { readTokens } from './mcp/tokens.js';
import { NODE_OPTIONS, openNode } from './node/open.js';

/** This package's version, given to clients in the MCP handshake. */
function toolsVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** A consumer given as a key id, or as a key file (its id is taken): a name for whose agreements apply. */
async function consumerKey(value: string, option: string): Promise<string> {
  if (isKeyId(value)) return value;
  if (isKeyPath(value)) return (await readKey(value)).kid;
  throw new UsageError('EUSAGE', `${option} ${value}: expected a key id (43 base64url characters) or a key file`);
}

/** Options that only mean something with --http. */
const HTTP_ONLY = ['tokens', 'anonymous', 'listen-public', 'allow-host', 'allow-origin', 'max-sessions', 'session-idle'] as const;

/** Resolves when the process is asked to stop, or `also` resolves. */
function stopRequested(also?: Promise<unknown>): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    also?.then(() => resolve('stdin closed'));
  });
}

async function serveStdio(node: Node, consumer: string, resourcePage: number | undefined, io: Io): Promise<void> {
  const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
  const { mcpServer } = await import('./mcp/server.js');
  const server = mcpServer({ node, consumer, version: toolsVersion(), ...(resourcePage === undefined ? {} : { resourcePage }) });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  io.err(`mcp0 mcp: serving ${node.distribution.name}@${node.distribution.version} over stdio for consumer ${consumer}\n`);
  // Listen before anything long-lived, and keep the event loop alive until told to stop.
  const alive = setInterval(() => undefined, 1 << 30);
  const why = await stopRequested(closed);
  clearInterval(alive);
  io.err(`mcp0 mcp: ${why}: stopping\n`);
  await server.close().catch(() => undefined);
}

export const mcp: Command = {
  name: 'mcp',
  summary: "serve a node's agents to MCP clients, over stdio or Streamable HTTP",
  usage:
    '[--dist <dir>] [--store <uri>] [--trust <key>... | --dev] (--consumer <key> | --http <host:port> (--tokens <file> | --anonymous <key id>) [--listen-public] [--allow-host <host>...] [--allow-origin <origin>...] [--max-sessions <n>] [--session-idle <seconds>]) [--resource-page <n>] [--json]',
  options: {
    ...NODE_OPTIONS,
    consumer: {
      type: 'string',
      arg: '<key>',
      description: 'stdio: the consumer key (a key id or a key file) whose agreements apply: the tools are the intents they permit on its agents',
    },
    http: { type: 'string', arg: '<host:port>', description: 'serve Streamable HTTP at http://<host:port>/mcp instead of stdio; port 0 picks a free one' },
    tokens: {
      type: 'string',
      arg: '<file>',
      description: '--http: bearer tokens, {"tokens": [{"token", "consumer": <key id>, "name"?}]} (mode 0600); each client acts as its token\'s consumer',
    },
    anonymous: {
      type: 'string',
      arg: '<key id>',
      description: '--http on loopback only: clients without a token act as this consumer (else they get 401)',
    },
    'listen-public': { type: 'boolean', description: '--http: allow an address that is not loopback (put a TLS proxy in front)' },
    'allow-host': { type: 'string', multiple: true, arg: '<host[:port]>', description: '--http: another name the Host header may carry' },
    'allow-origin': {
      type: 'string',
      multiple: true,
      arg: '<origin>',
      description: "--http: an origin (https://app.example) browsers may call from, beyond the server's own",
    },
    'max-sessions': { type: 'string', arg: '<n>', description: `--http: sessions open at once (default ${DEFAULT_MAX_SESSIONS}); past it, 503` },
    'session-idle': {
      type: 'string',
      arg: '<seconds>',
      description: `--http: close a session unused this long (default ${DEFAULT_IDLE_MS / 1000})`,
    },
    'resource-page': {
      type: 'string',
      arg: '<n>',
      description: `resources listed per resources/list page, ${RESOURCE_PAGE_RANGE.min} to ${RESOURCE_PAGE_RANGE.max} (default ${DEFAULT_RESOURCE_PAGE})`,
    },
    json: { type: 'boolean', description: '--http: print the ready and stopped lines as JSON' },
  },
  details: [
    'Tools: for each running agent bound to an agreement whose consumer is the caller, each intent the agreement',
    'permits, named <agent>.<intent> (characters MCP does not allow become _). Input and output schemas come from the',
    "signed manifest when its export entry has them; annotations from the module's effective grants (read-only only",
    'when it holds none of kv, blocks, call, net; open-world when it holds net). A call is one operation: a denial or a',
    'failure is a result with isError and the ABI code (EDENIED: not-permitted ...); _meta "mcp0/trace" is the trace',
    "head {seq, head} read after it. An agent's emits during a call are progress notifications; a cancelled call",
    'that has not begun never runs.',
    '',
    'Resources, read-only, none of them an operation (no hook runs, the trace gets no entry): mcp0://trace/head',
    '{seq, head}; mcp0://trace/checkpoint, the newest signed checkpoint; mcp0://trace/entries/{from}-{to}, at most',
    "1,000 entries; and for each of the caller's agents (those its tools come from, agreement in force)",
    'mcp0://agents/<agent>, its id, state, module, snapshots and state root, and mcp0://agents/<agent>/state/<key>',
    '(the key percent-encoded as RFC 6570 expands {key}): JSON when the value is CBOR, else base64. resources/list',
    "pages with a cursor (--resource-page). Another consumer's agent reads as a missing one (-32002); a malformed",
    'URI or cursor is -32602.',
    '',
    'stdio (the default) is for a client that launches mcp0 itself: stdout carries only MCP messages, logs go to',
    'stderr, and it stops when stdin closes. The caller is --consumer: the process is yours, so the key chooses whose',
    'agreements apply; it proves nothing, just as mcp0 agent execute runs any agent on a store you can open.',
    '',
    'HTTP binds loopback unless --listen-public; the Host header must name the server and an Origin, when sent,',
    'must be allowed (DNS rebinding); a bearer token maps each client to its consumer (401 without one unless',
    '--anonymous, on loopback only); a session stays with the consumer that opened it; sessions are capped and',
    'closed when idle.',
  ].join('\n'),
  async run(args: Args, io: Io) {
    const listen = stringOption(args, 'http');
    const consumerOption = stringOption(args, 'consumer');
    if (listen === undefined) {
      const stray = HTTP_ONLY.filter((o) => args.values[o] !== undefined);
      if (stray.length > 0) throw new UsageError('EUSAGE', `${stray.map((o) => `--${o}`).join(', ')} go with --http <host:port>`);
      if (consumerOption === undefined)
        throw new UsageError('EUSAGE', 'stdio needs --consumer <key id | key file>: the consumer whose agreements apply (or serve HTTP with --http)');
    } else if (consumerOption !== undefined) {
      throw new UsageError('EUSAGE', '--consumer is for stdio; over --http each client is the consumer its bearer token maps to (--tokens), or --anonymous');
    }
    const consumer = consumerOption === undefined ? undefined : await consumerKey(consumerOption, '--consumer');
    const anonymousOption = stringOption(args, 'anonymous');
    if (anonymousOption !== undefined && !isKeyId(anonymousOption))
      throw new UsageError('EUSAGE', `--anonymous ${anonymousOption}: expected a key id (43 base64url characters)`);
    const tokensFile = stringOption(args, 'tokens');
    const tokens = tokensFile === undefined ? undefined : await readTokens(tokensFile);
    if (listen !== undefined) {
      // Said before the node starts (seconds): a refused address or a missing way in is a usage error at once.
      const { host } = splitHostPort(listen);
      if (!isLoopback(host) && args.values['listen-public'] !== true)
        throw new UsageError(
          'EUSAGE',
          `--http ${listen}: not a loopback address; serving beyond this machine needs --listen-public (and a TLS proxy in front)`,
        );
      if (anonymousOption !== undefined && !isLoopback(host))
        throw new UsageError('EUSAGE', `--anonymous: clients without a token are let in on a loopback address only, not on ${host}`);
      if (tokens === undefined && anonymousOption === undefined)
        throw new UsageError('EUSAGE', '--http needs --tokens <file> (bearer token → consumer key), or --anonymous <key id> on a loopback address');
    }
    const maxSessions = intOption(args, 'max-sessions', 1, 100_000);
    const idleSeconds = intOption(args, 'session-idle', 1, 7 * 24 * 3600);
    const resourcePage = intOption(args, 'resource-page', RESOURCE_PAGE_RANGE.min, RESOURCE_PAGE_RANGE.max);

    const node = await openNode(args, io);
    try {
      if (listen === undefined) {
        await serveStdio(node, consumer!, resourcePage, io);
        return 0;
      }
      const json = args.values.json === true;
      // Loaded only here: the SDK and its HTTP stack cost every other mcp0 command nothing.
      const { serveMcpHttp } = await import('./mcp/http.js');
      const http = await serveMcpHttp({
        node,
        version: toolsVersion(),
        listen,
        listenPublic: args.values['listen-public'] === true,
        ...(tokens ? { tokens } : {}),
        ...(anonymousOption !== undefined ? { anonymous: anonymousOption } : {}),
        allowHosts: listOption(args, 'allow-host'),
        allowOrigins: listOption(args, 'allow-origin'),
        ...(maxSessions !== undefined ? { maxSessions } : {}),
        ...(idleSeconds !== undefined ? { idleMs: idleSeconds * 1000 } : {}),
        ...(resourcePage !== undefined ? { resourcePage } : {}),
        log: (line) => io.err(`mcp0 mcp: ${line}\n`),
      });
      const alive = setInterval(() => undefined, 1 << 30);
      const ready = { event: 'ready', pid: process.pid, url: http.url, tokens: tokens?.size ?? 0, anonymous: anonymousOption ?? null };
      io.out(
        json
          ? `${JSON.stringify(ready)}\n`
          : `mcp0 mcp: serving ${node.distribution.name}@${node.distribution.version} at ${http.url} (${ready.tokens} token(s)${anonymousOption ? `, anonymous clients as ${anonymousOption}` : ''}); Ctrl-C stops it\n`,
      );
      const why = await stopRequested();
      clearInterval(alive);
      await http.close();
      io.out(json ? `${JSON.stringify({ event: 'stopped', signal: why })}\n` : `${why}: stopped\n`);
      return 0;
    } finally {
      await node.stop();
    }
  },
};
