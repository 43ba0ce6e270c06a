/**
 * One MCP server session for one caller: the low-level `Server` of the official SDK (tools are
 * made at run time from the node's agents, so the zod-typed `McpServer` does not fit), answering
 * `tools/list` with the caller's tools and `tools/call` with an operation on the node. A call's
 * failure (EDENIED from the agreement, EPERM, ETIMEOUT, ...) is a tool result with `isError`, its
 * ABI code and message; only a tool name the caller has no agent for is a protocol error
 * (-32602), as the MCP specification says of unknown tools. Its resources (read-only views of the
 * trace and of the caller's agents' state) are `resources.ts`'s.
 */
import { Mcp0Error, type CborValue } from '@mcp0/abi';
import type { Node } from '@mcp0/sdk';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { fromJson, plainDetails, toJson, exactJson } from '../../json-cbor.js';
import { registerResources } from './resources.js';
import { agentTools } from './tools.js';

/** The `_meta` keys of a tool result: `mcp0/` is this project's prefix (MCP's `_meta` naming rules). */
export const META_TRACE = 'mcp0/trace';
/** The `_meta` key of a failed call's error: `{code, message, details}`. */
export const META_ERROR = 'mcp0/error';

/** What a session serves, and to whom. */
export interface SessionOptions {
  node: Node;
  /** The consumer key id the caller acts as: its agreements decide what it may call. */
  consumer: string;
  /** The server's version, for the MCP handshake. */
  version: string;
  /** Resources per `resources/list` page (default DEFAULT_RESOURCE_PAGE). */
  resourcePage?: number;
}

/** The trace head after an operation (its entry is at or before `seq`), or nothing without a trace role. */
async function traceMeta(node: Node): Promise<Record<string, unknown>> {
  if (!node.hasRole('trace')) return {};
  try {
    const { seq, head } = await node.roles.trace.head();
    return { [META_TRACE]: { seq, head } };
  } catch {
    return {};
  }
}

/** A progress notification's fields from an agent's `emit`: a count that only grows, the topic and data as the message. */
function progressOf(count: number, topic: string, data: CborValue): { progress: number; total?: number; message: string } {
  const json = toJson(data);
  const of = json !== null && typeof json === 'object' ? ((json as Record<string, unknown>).total ?? (json as Record<string, unknown>).of) : undefined;
  const text = exactJson(json);
  return {
    progress: count,
    ...(typeof of === 'number' && Number.isFinite(of) && of >= count ? { total: of } : {}),
    message: `${topic}: ${text.length > 512 ? `${text.slice(0, 512)}…` : text}`,
  };
}

/**
 * A tool result for what an operation gave: its output as JSON text, and as `structuredContent`
 * when the tool declares an output schema (MCP wants an object there).
 * @example
 * successResult({ value: 2 }, true, {}) // { content: [{ type: 'text', text: '{"value":2}' }], structuredContent: { value: 2 }, _meta: {} }
 */
export function successResult(output: CborValue, hasOutputSchema: boolean, meta: Record<string, unknown>): CallToolResult {
  const json = toJson(output);
  return {
    content: [{ type: 'text', text: exactJson(json) }],
    ...(hasOutputSchema && json !== null && typeof json === 'object' && !Array.isArray(json) ? { structuredContent: json as Record<string, unknown> } : {}),
    _meta: meta,
  };
}

/**
 * A tool result for a failed operation: `isError`, and the ABI code first in the text so a model reads it.
 * @example
 * failureResult(new CallError('EDENIED', 'quota-exhausted: …', { retryAfterMs: 900 }), {}) // { isError: true, content: [{ text: 'EDENIED: quota-exhausted: …' }], … }
 */
export function failureResult(error: unknown, meta: Record<string, unknown>): CallToolResult {
  const e = error instanceof Mcp0Error ? error : new Mcp0Error('EINTERNAL', error instanceof Error ? error.message : String(error));
  return {
    isError: true,
    content: [{ type: 'text', text: `${e.code}: ${e.message}` }],
    _meta: { ...meta, [META_ERROR]: { code: e.code, message: e.message, details: plainDetails(e.details) } },
  };
}

/**
 * An MCP server whose tools are `consumer`'s intents on `node`; connect it to one transport.
 * @example
 * const server = mcpServer({ node, consumer: me.kid, version: '0.1.0' })
 * await server.connect(new StdioServerTransport())
 */
export function mcpServer({ node, consumer, version, resourcePage }: SessionOptions): Server {
  const server = new Server(
    { name: 'mcp0', title: `mcp0 node (${node.distribution.name}@${node.distribution.version})`, version },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        'Each tool is an intent of an agent on an MCP-ZERO node, run as one operation under your agreement: it may be denied (EDENIED with the reason), metered, and is recorded in the node trace (_meta "mcp0/trace"). The resources are read-only views (the trace head, signed checkpoints and entries; your agents and their state, mcp0://agents/<agent>/state/<key>); reading one is not an operation and leaves no trace entry.',
    },
  );
  registerResources(server, { node, consumer, ...(resourcePage === undefined ? {} : { pageSize: resourcePage }) });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: (await agentTools(node, consumer)).filter((t) => t.permitted).map((t) => t.tool),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const tool = (await agentTools(node, consumer)).find((t) => t.name === name);
    if (tool === undefined) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name.length > 128 ? `${name.slice(0, 128)}…` : name}`);
    const token = request.params._meta?.progressToken;
    let count = 0;
    const onEmit =
      token === undefined
        ? undefined
        : (topic: string, data: CborValue) => {
            count++;
            extra
              .sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...progressOf(count, topic, data) } })
              .catch(() => undefined);
          };
    let output: CborValue;
    try {
      output = await node.agents
        .get(tool.agentId)
        .execute(tool.intent, fromJson(request.params.arguments ?? {}), { signal: extra.signal, ...(onEmit ? { onEmit } : {}) });
    } catch (e) {
      return failureResult(e, await traceMeta(node));
    }
    return successResult(output, tool.tool.outputSchema !== undefined, await traceMeta(node));
  });
  return server;
}
