/**
 * What `mcp0 mcp` offers a caller as MCP tools: the intents of the live agents whose agreement's
 * consumer is the caller, named `<agent>.<intent>` within MCP's tool-name rules, with schemas from
 * the signed manifest and annotations from the module's effective grants (never from what its
 * author claims). The listing is a view: each call still goes through the pipeline, where the
 * agreements plugin admits or denies it.
 */
import { createHash } from 'node:crypto';
import type { CapabilityName } from '@mcp0/abi';
import type { Agent, Node } from '@mcp0/sdk';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { globMatch } from './glob.js';

/** MCP's tool names: 1 to 128 of A-Z a-z 0-9 _ - . (the 2025-11-25 specification, "Tool names"). */
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** The longest agent part of a tool name: intents are at most 64 characters (the manifest schema). */
const MAX_AGENT_PART = 128 - 1 - 64;

/** Capabilities with which a module can change something: its state, blocks, another plugin's (call) or the world (net). */
const WRITES: readonly CapabilityName[] = ['kv', 'blocks', 'call', 'net'];

/** One intent of one of the caller's agents. */
export interface AgentTool {
  /** The MCP tool name. */
  name: string;
  agentId: string;
  agentName: string;
  intent: string;
  /** Whether the agreement permits the intent (listed) or not (callable, and then denied by admit). */
  permitted: boolean;
  tool: Tool;
}

/** A JSON Schema object usable as an MCP tool's input or output schema: MCP wants `type: "object"` at the top. */
function objectSchema(value: unknown): (Tool['inputSchema'] & Record<string, unknown>) | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return (value as { type?: unknown }).type === 'object' ? (value as Tool['inputSchema'] & Record<string, unknown>) : undefined;
}

/**
 * The agent part of its tools' names: its name with every character MCP does not allow replaced by
 * `_`. When that changed the name, or it is only dots (a `.` or `..` segment in a resource URI), or
 * another agent's name becomes the same, or it is too long, the end of the agent's id is added, so
 * two agents never share a tool name.
 * @example
 * agentPart('notes', 'agent-0123456789abcdef', new Set(['notes'])) // 'notes'
 * agentPart('my notes', 'agent-0123456789abcdef', new Set(['my_notes'])) // 'my_notes-89abcdef'
 */
export function agentPart(name: string, id: string, taken: ReadonlySet<string>, clashes = false): string {
  const clean = name.replace(/[^A-Za-z0-9_.-]/g, '_') || '_';
  const tag = id.replace(/[^A-Za-z0-9]/g, '').slice(-8) || createHash('sha256').update(id).digest('hex').slice(0, 8);
  if (clean === name && !/^\.+$/.test(clean) && !clashes && clean.length <= MAX_AGENT_PART && !taken.has(clean)) return clean;
  return `${clean.slice(0, MAX_AGENT_PART - 1 - tag.length)}-${tag}`;
}

/** Annotations from the module's effective grants: read-only only when it can write nothing, open-world when it holds net. */
export function annotationsOf(capabilities: readonly CapabilityName[]): NonNullable<Tool['annotations']> {
  const can = new Set(capabilities);
  return { readOnlyHint: !WRITES.some((c) => can.has(c)), openWorldHint: can.has('net') };
}

/** The export entry's `input` and `output` JSON Schemas, when the manifest has them (an object schema each). */
export function schemasOf(entry: { name: string; input?: unknown; output?: unknown }): Pick<Tool, 'inputSchema' | 'outputSchema'> {
  const input = objectSchema(entry.input);
  const output = objectSchema(entry.output);
  return { inputSchema: input ?? { type: 'object' }, ...(output ? { outputSchema: output } : {}) };
}

/** Whether an agreement's permission globs admit `intent` of agent `agentId` (as its admit hook decides). */
export function permits(permissions: { intents: readonly string[]; exports: readonly string[] }, agentId: string, intent: string): boolean {
  return permissions.intents.some((g) => globMatch(g, intent)) || permissions.exports.some((g) => globMatch(g, `${agentId}/${intent}`));
}

/** One of the caller's agents, with the name its tools and resources go by. */
export interface CallerAgent {
  agent: Agent;
  /** Its part of tool names and resource URIs (`agentPart`): unique among the caller's agents, within [A-Za-z0-9_.-]. */
  part: string;
  permissions: { intents: string[]; exports: string[] };
  /** Whether its agreement is in force now: neither revoked nor outside its validity. */
  active: boolean;
}

/**
 * The agents `consumer` (a key id) may use on `node`: each running agent bound to an agreement
 * whose consumer is `consumer`, in a stable order (by agent name, then id, so a restart gives the
 * same names), each with its name part. This is what both the tools and the resources of
 * `mcp0 mcp` come from; nothing else decides whose agent is whose.
 * @example
 * const mine = await callerAgents(node, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
 * mine.map((a) => a.part) // ['counter', 'progress']
 */
export async function callerAgents(node: Node, consumer: string, now = Date.now()): Promise<CallerAgent[]> {
  if (!node.hasRole('agreements')) return [];
  const mine: Omit<CallerAgent, 'part'>[] = [];
  for (const agent of node.agents.list()) {
    if (agent.state !== 'running' || agent.agreement === null) continue;
    const got = await node.roles.agreements.get({ id: agent.agreement }).catch(() => undefined);
    if (got === undefined || got.document.consumer !== consumer) continue;
    const { validity, permissions } = got.document;
    mine.push({ agent, permissions, active: !got.revoked && validity.notBefore <= now && now < validity.notAfter });
  }
  mine.sort((a, b) => (a.agent.name < b.agent.name ? -1 : a.agent.name > b.agent.name ? 1 : a.agent.id < b.agent.id ? -1 : 1));
  const cleaned = mine.map(({ agent }) => agent.name.replace(/[^A-Za-z0-9_.-]/g, '_'));
  const taken = new Set<string>();
  return mine.map((m, i) => {
    const clashes = cleaned.filter((c) => c === cleaned[i]).length > 1;
    const part = agentPart(m.agent.name, m.agent.id, taken, clashes);
    taken.add(part);
    return { ...m, part };
  });
}

/**
 * The tools of `consumer` (a key id) on `node`: every exported intent of each of its agents
 * (`callerAgents`). `permitted` marks what the agreement permits now
 * (neither revoked nor outside its validity, and matching a glob): those are listed; the others
 * may be called by name and are then denied by the agreements plugin, with its reason.
 * @example
 * const tools = await agentTools(node, 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k')
 * tools.filter((t) => t.permitted).map((t) => t.name) // ['counter.increment', 'counter.get']
 */
export async function agentTools(node: Node, consumer: string, now = Date.now()): Promise<AgentTool[]> {
  const out: AgentTool[] = [];
  for (const { agent, part, permissions, active } of await callerAgents(node, consumer, now)) {
    const module = node.kernel.module(agent.id);
    const annotations = annotationsOf(module.verified.capabilities.list().map((c) => c.name));
    for (const entry of module.manifest.exports as { name: string; description?: string; input?: unknown; output?: unknown }[]) {
      const name = `${part}.${entry.name}`;
      if (!TOOL_NAME.test(name)) continue; // cannot happen within the manifest schema; never offer an illegal name
      out.push({
        name,
        agentId: agent.id,
        agentName: agent.name,
        intent: entry.name,
        permitted: active && permits(permissions, agent.id, entry.name),
        tool: {
          name,
          title: `${agent.name}: ${entry.name}`,
          description: `${entry.description ?? `the intent ${entry.name}`} (agent ${agent.name}, ${module.manifest.name}@${module.manifest.version})`,
          ...schemasOf(entry),
          annotations,
        },
      });
    }
  }
  return out;
}
