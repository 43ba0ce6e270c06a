/**
 * `mcp0 mcp`'s resources: what a caller may read without running anything. The trace head, the
 * newest signed checkpoint and ranges of trace entries; and, for each agent the caller may use
 * (`callerAgents`, the same set its tools come from, with an agreement in force), its summary and
 * its state's keys and values. Everything is read-only and nothing here is an operation: no hook
 * runs, nothing is metered, the trace gets no entry.
 *
 * URIs are exact: one canonical spelling each (a key percent-encoded as RFC 6570 expands
 * `{key}`), so a path-traversal or double-encoding trick is a malformed URI (-32602), never another
 * resource. An agent that is not the caller's reads as a missing one: the same -32002 and message.
 * `resources/list` pages with an opaque cursor (a position: agent and key), reading at most a
 * page of keys from the storage role at a time.
 */
import { type CborValue, decodeCbor } from '@mcp0/abi';
import { CheckpointLog, type Node } from '@mcp0/sdk';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import { exactJson, toJson } from '../../json-cbor.js';
import { DEFAULT_RESOURCE_PAGE, RESOURCE_PAGE_RANGE } from './paging.js';
import { type CallerAgent, callerAgents } from './tools.js';

/** MCP's error code for a resource that does not exist (the specification's "Resources", error handling). */
export const RESOURCE_NOT_FOUND = -32002;

/** The most trace entries one read gives: the trace role's `range` limit. */
export const MAX_TRACE_RANGE = 1000;

/** A storage key's longest UTF-8 form (the storage role's limit). */
const MAX_KEY_BYTES = 1024;

/** The longest URI or cursor looked at: a 1,024-byte key percent-encoded is at most 3,072 characters. */
const MAX_URI = 3300;
const MAX_CURSOR = 8000;

const AGENT_PART = /^[A-Za-z0-9_.-]{1,128}$/;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;

/** What a URI names. */
export type ResourceRef =
  | { kind: 'trace-head' }
  | { kind: 'checkpoint' }
  | { kind: 'entries'; from: number; to: number }
  | { kind: 'agent'; part: string }
  | { kind: 'state'; part: string; key: string };

/** A bounded, printable form of caller input for messages. */
const shown = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);

function malformed(uri: string, why: string): McpError {
  return new McpError(ErrorCode.InvalidParams, `${shown(uri)}: ${why}`, { code: 'EINPUT' });
}

/**
 * The error for a resource that does not exist, or is not the caller's: the same either way.
 * @example
 * throw notFound('mcp0://agents/notes') // McpError -32002 'Resource not found: "mcp0://agents/notes"'
 */
export function notFound(uri: string): McpError {
  return new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${shown(uri)}`, { code: 'ENOTFOUND' });
}

/**
 * Text as one URI segment, as an RFC 6570 simple expansion (`{key}`) writes it: everything but
 * A-Z a-z 0-9 - . _ ~ percent-encoded as UTF-8, hex in upper case.
 * @example
 * encodeSegment('notes/1 a!') // 'notes%2F1%20a%21'
 */
export function encodeSegment(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The URI of an agent's summary, or of one key of its state.
 * @example
 * agentUri('counter') // 'mcp0://agents/counter'
 * agentUri('counter', '/counter') // 'mcp0://agents/counter/state/%2Fcounter'
 */
export function agentUri(part: string, key?: string): string {
  return key === undefined ? `mcp0://agents/${part}` : `mcp0://agents/${part}/state/${encodeSegment(key)}`;
}

/**
 * What `uri` names, or an InvalidParams McpError: not one of this server's URI forms, a key not
 * in its one canonical encoding (`%2e%2e`, `%2f` for `%2F`, a raw `/`), not UTF-8 or too long, or
 * a trace range that is reversed or longer than MAX_TRACE_RANGE.
 * @example
 * parseResourceUri('mcp0://trace/entries/0-9') // { kind: 'entries', from: 0, to: 9 }
 * parseResourceUri('mcp0://agents/counter/state/%2Fcounter') // { kind: 'state', part: 'counter', key: '/counter' }
 */
export function parseResourceUri(uri: string): ResourceRef {
  if (uri.length > MAX_URI) throw malformed(uri, `longer than ${MAX_URI} characters`);
  if (uri === 'mcp0://trace/head') return { kind: 'trace-head' };
  if (uri === 'mcp0://trace/checkpoint') return { kind: 'checkpoint' };
  const range = /^mcp0:\/\/trace\/entries\/([^-]*)-(.*)$/.exec(uri);
  if (range) {
    const [, a, b] = range as unknown as [string, string, string];
    if (!SEQ.test(a) || !SEQ.test(b) || !Number.isSafeInteger(Number(a)) || !Number.isSafeInteger(Number(b)))
      throw malformed(uri, 'expected mcp0://trace/entries/<from>-<to>, seqs as decimal integers without leading zeros');
    const from = Number(a);
    const to = Number(b);
    if (from > to) throw malformed(uri, `from ${from} is after to ${to}`);
    if (to - from + 1 > MAX_TRACE_RANGE) throw malformed(uri, `${to - from + 1} entries: at most ${MAX_TRACE_RANGE} at a time`);
    return { kind: 'entries', from, to };
  }
  const agent = /^mcp0:\/\/agents\/([^/]*)(?:\/state\/(.*))?$/s.exec(uri);
  if (agent) {
    const [, part, raw] = agent as unknown as [string, string, string | undefined];
    if (!AGENT_PART.test(part)) throw malformed(uri, 'expected an agent name of A-Z a-z 0-9 _ . - after mcp0://agents/');
    if (raw === undefined) return { kind: 'agent', part };
    let key: string;
    try {
      key = decodeURIComponent(raw);
    } catch {
      throw malformed(uri, 'the key is not percent-encoded UTF-8');
    }
    if (encodeSegment(key) !== raw) throw malformed(uri, `the key is not in its canonical encoding (expected ${shown(encodeSegment(key))})`);
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw malformed(uri, `the key is longer than ${MAX_KEY_BYTES} UTF-8 bytes`);
    return { kind: 'state', part, key };
  }
  throw malformed(uri, 'expected mcp0://trace/head, mcp0://trace/checkpoint, mcp0://trace/entries/<from>-<to>, mcp0://agents/<agent>[/state/<key>]');
}

/** Where a listing goes on: at agent (name, id); `k` absent: its summary next; null: its keys from the first; text: its keys after that one. */
export interface ListPosition {
  n: string;
  i: string;
  k?: string | null;
}

/**
 * A position as an opaque cursor (base64url of its JSON).
 * @example
 * encodeCursor({ n: 'notes', i: 'agent-1', k: 'notes/1' }) // 'eyJuIjoibm90ZXMiLCJpIjoiYWdlbnQtMSIsImsiOiJub3Rlcy8xIn0'
 */
export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * The position a cursor holds, or an InvalidParams McpError: too long, not base64url, not the
 * JSON of a position. A cursor only says where to go on among the caller's own agents.
 * @example
 * decodeCursor(encodeCursor({ n: 'notes', i: 'agent-1' })) // { n: 'notes', i: 'agent-1' }
 */
export function decodeCursor(cursor: string): ListPosition {
  const bad = (why: string) => new McpError(ErrorCode.InvalidParams, `Invalid cursor ${shown(cursor)}: ${why}`, { code: 'EINPUT' });
  if (cursor.length > MAX_CURSOR) throw bad(`longer than ${MAX_CURSOR} characters`);
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad('not a cursor this server gave');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor this server gave');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not a cursor this server gave');
  const { n, i, k, ...rest } = v as Record<string, unknown>;
  const text = (x: unknown, bytes: number) => typeof x === 'string' && Buffer.byteLength(x) <= bytes;
  if (Object.keys(rest).length > 0 || !text(n, 1024) || !text(i, 1024) || !(k === undefined || k === null || text(k, MAX_KEY_BYTES)))
    throw bad('not a cursor this server gave');
  return { n: n as string, i: i as string, ...(k === undefined ? {} : { k: k as string | null }) };
}

/**
 * A stored value as resource contents: JSON text when it decodes as CBOR (the tools' JSON view:
 * bytes as `{"$bytes": base64}`, big integers as text), else its bytes in base64 as
 * application/octet-stream.
 * @example
 * valueContents('mcp0://agents/counter/state/%2Fcounter', Uint8Array.of(0x05)) // { uri, mimeType: 'application/json', text: '5' }
 */
export function valueContents(uri: string, bytes: Uint8Array): ReadResourceResult['contents'][number] {
  let value: CborValue;
  try {
    value = decodeCbor(bytes);
  } catch {
    return { uri, mimeType: 'application/octet-stream', blob: Buffer.from(bytes).toString('base64') };
  }
  return { uri, mimeType: 'application/json', text: exactJson(toJson(value)) };
}

/** What `registerResources` serves, and to whom. */
export interface ResourceOptions {
  node: Node;
  /** The caller's consumer key id. */
  consumer: string;
  /** Resources per `resources/list` page (RESOURCE_PAGE_RANGE; default DEFAULT_RESOURCE_PAGE). */
  pageSize?: number;
}

const TEMPLATES: ResourceTemplate[] = [
  {
    uriTemplate: 'mcp0://trace/entries/{from}-{to}',
    name: 'trace-entries',
    title: 'Trace entries',
    description: `The trace entries from seq {from} to {to}, inclusive, at most ${MAX_TRACE_RANGE}: {seq, event, eventHash, head} each.`,
    mimeType: 'application/json',
  },
  {
    uriTemplate: 'mcp0://agents/{agent}',
    name: 'agent',
    title: 'Agent',
    description: "One of your agents (named as in its tools' names): id, state, module, snapshots and state root.",
    mimeType: 'application/json',
  },
  {
    uriTemplate: 'mcp0://agents/{agent}/state/{key}',
    name: 'agent-state',
    title: "An agent's state",
    description: 'The value of one key of an agent\'s state: JSON when it is CBOR (bytes as {"$bytes": base64}), else base64.',
  },
];

/** Whether agent `a` comes before position `(n, i)` in the caller's order (by name, then id). */
function before(a: CallerAgent, n: string, i: string): boolean {
  return a.agent.name < n || (a.agent.name === n && a.agent.id < i);
}

/**
 * Adds `resources/list`, `resources/read` and `resources/templates/list` to `server` for
 * `consumer` on `node`; the server must declare the `resources` capability.
 * @example
 * registerResources(server, { node, consumer: me.kid })
 */
export function registerResources(server: Server, { node, consumer, pageSize = DEFAULT_RESOURCE_PAGE }: ResourceOptions): void {
  const mine = async () => (await callerAgents(node, consumer)).filter((a) => a.active);
  const agentOf = async (uri: string, part: string) => {
    const found = (await mine()).find((a) => a.part === part);
    if (found === undefined) throw notFound(uri);
    return found;
  };

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: TEMPLATES }));

  server.setRequestHandler(ListResourcesRequestSchema, async (request) => {
    const cursor = request.params?.cursor;
    const at = cursor === undefined ? undefined : decodeCursor(cursor);
    const out: Resource[] = [];
    if (at === undefined && node.hasRole('trace')) {
      out.push({
        uri: 'mcp0://trace/head',
        name: 'trace-head',
        title: 'Trace head',
        description: "The trace's last entry's seq and the chain head after it: {seq, head}.",
        mimeType: 'application/json',
      });
      if ((await new CheckpointLog(node.store.kv).latest()) !== undefined)
        out.push({
          uri: 'mcp0://trace/checkpoint',
          name: 'trace-checkpoint',
          title: 'Newest signed trace checkpoint',
          description: "The newest checkpoint of the trace head the node's operator key signed.",
          mimeType: 'application/json',
        });
    }
    for (const a of await mine()) {
      if (at !== undefined && before(a, at.n, at.i)) continue;
      const resumed = at !== undefined && a.agent.name === at.n && a.agent.id === at.i ? at : undefined;
      const position = (k?: string | null) => encodeCursor({ n: a.agent.name, i: a.agent.id, ...(k === undefined ? {} : { k }) });
      if (resumed?.k === undefined) {
        if (out.length >= pageSize) return { resources: out, nextCursor: position() };
        out.push({
          uri: agentUri(a.part),
          name: a.part,
          title: `agent ${a.agent.name}`,
          description: `${a.agent.module.name}@${a.agent.module.version}: id, state, module, snapshots and state root`,
          mimeType: 'application/json',
        });
      }
      let after = resumed?.k ?? null;
      for (let first = true; ; first = false) {
        if (out.length >= pageSize) {
          // Past the first storage page its cursor says more follow; before it, look, so an agent without keys ends no page with a cursor to nothing.
          const more = !first || (await node.roles.storage.list({ agent: a.agent.id, limit: 1, cursor: after })).entries.length > 0;
          if (more) return { resources: out, nextCursor: position(after) };
          break;
        }
        const page = await node.roles.storage.list({ agent: a.agent.id, limit: Math.min(pageSize - out.length, RESOURCE_PAGE_RANGE.max), cursor: after });
        for (const [key, value] of page.entries) out.push({ uri: agentUri(a.part, key), name: key, title: `${a.agent.name}: ${key}`, size: value.length });
        if (page.cursor === null || page.entries.length === 0) break;
        after = page.cursor;
      }
    }
    return { resources: out };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request): Promise<ReadResourceResult> => {
    const uri = request.params.uri;
    const ref = parseResourceUri(uri);
    const json = (value: unknown): ReadResourceResult => ({ contents: [{ uri, mimeType: 'application/json', text: exactJson(value) }] });
    switch (ref.kind) {
      case 'trace-head':
      case 'checkpoint':
      case 'entries': {
        if (!node.hasRole('trace')) throw notFound(uri);
        if (ref.kind === 'checkpoint') {
          const latest = await new CheckpointLog(node.store.kv).latest();
          if (latest === undefined) throw notFound(uri);
          return json(latest);
        }
        const { seq, head } = await node.roles.trace.head();
        if (ref.kind === 'trace-head') return json({ seq, head });
        if (seq === null || ref.to > seq)
          throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${shown(uri)}: ${seq === null ? 'the trace is empty' : `the trace ends at seq ${seq}`}`, {
            code: 'ENOTFOUND',
            last: seq,
          });
        return json(toJson((await node.roles.trace.range({ from: ref.from, to: ref.to })) as unknown as CborValue));
      }
      case 'agent': {
        const { agent } = await agentOf(uri, ref.part);
        return json({
          id: agent.id,
          name: agent.name,
          state: agent.state,
          agreement: agent.agreement,
          module: agent.module,
          snapshots: agent.snapshots,
          stateRoot: await agent.stateRoot(),
        });
      }
      case 'state': {
        const { agent } = await agentOf(uri, ref.part);
        const value = await node.roles.storage.get({ agent: agent.id, key: ref.key });
        if (value === null) throw notFound(uri);
        return { contents: [valueContents(uri, value)] };
      }
    }
  });
}
