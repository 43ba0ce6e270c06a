/**
 * What each method of `mcp0.v1.Node` does once the rpc plugin has let the call through: the node's
 * own API (agents, trace, proofs, metrics), with the CBOR payload each takes checked member by
 * member (EINPUT naming it) and answers that are plain CBOR.
 */
import { ABI_VERSION, CallError, Mcp0Error, ROLE_NAMES, type CborValue, type RoleName } from '@mcp0/abi';
import type { Cutoff } from '@mcp0/kernel';
import type { Agent, ExecuteOptions, Node } from '../node/index.js';
import { CheckpointLog, proveTraceRange } from '../trace/index.js';
import { inProverTurn } from './prover.js';

type Input = { [key: string]: CborValue };

function map(input: CborValue): Input {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || input instanceof Uint8Array)
    throw new CallError('EINPUT', 'payload: expected a CBOR map');
  return input;
}

function text(input: Input, name: string, required: true): string;
function text(input: Input, name: string, required: false): string | undefined;
function text(input: Input, name: string, required: boolean): string | undefined {
  const v = input[name];
  if (v === undefined || v === null) {
    if (required) throw new CallError('EINPUT', `payload: "${name}" is missing, expected text`);
    return undefined;
  }
  if (typeof v !== 'string') throw new CallError('EINPUT', `payload: "${name}" expected text, got ${typeof v}`);
  return v;
}

function uint(input: Input, name: string): number {
  const v = input[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new CallError('EINPUT', `payload: "${name}" expected an unsigned integer, got ${typeof v}`);
  return v;
}

/** An agent as the wire shows it. */
function summary(a: Agent): object {
  return {
    id: a.id,
    name: a.name,
    state: a.state,
    module: { name: a.module.name, version: a.module.version },
    agreement: a.agreement,
    snapshots: a.snapshots.map((s) => ({ id: s.id, at: s.at })),
  };
}

const agentOf = (node: Node, input: CborValue): Agent => node.agents.get(text(map(input), 'agent', true));

/**
 * Runs `intent` of the agent `target` (its name or id) with `input`, cut by `options`' deadline and
 * signal while it waits, its emits passed to `options.onEmit`; `options.cause` is the envelope's
 * hash, which the callee's trace records in the operation's entry.
 * @example
 * await executeAgent(node, 'notes', 'remember', { text: 'buy milk' }, { deadline: Date.now() + 1000, cause: verdict.envelopeHash })
 */
export function executeAgent(node: Node, target: string, intent: string, input: CborValue, options: ExecuteOptions = {}): Promise<CborValue> {
  return node.agents.get(target).execute(intent, input, options);
}

/**
 * The node's own methods, by their name in `mcp0.v1.Node`. `cutoff` is the call's deadline and
 * cancellation: a method that can wait (TraceProof, for the prover) gives up by then.
 * @example
 * await NODE_METHODS.ListAgents!(node, {})
 */
export const NODE_METHODS: Readonly<Record<string, (node: Node, input: CborValue, cutoff?: Cutoff) => Promise<unknown>>> = {
  async Spawn(node, input) {
    const m = map(input);
    const module = m.module;
    if (!(module instanceof Uint8Array)) throw new CallError('EINPUT', 'payload: "module" expected bytes (a signed module)');
    const grants = m.grants;
    if (grants !== undefined && (!Array.isArray(grants) || !grants.every((g) => typeof g === 'string')))
      throw new CallError('EINPUT', 'payload: "grants" expected a list of texts');
    const agreement = text(m, 'agreement', false);
    const agent = await node.agents.spawn({
      module,
      name: text(m, 'name', true),
      ...(grants === undefined ? {} : { grants: grants as string[] }),
      ...(m.config === undefined ? {} : { config: m.config }),
      ...(agreement === undefined ? {} : { agreement }),
    });
    return summary(agent);
  },
  async ListAgents(node) {
    return node.agents.list().map(summary);
  },
  async Snapshot(node, input) {
    const s = await agentOf(node, input).snapshot();
    return { id: s.id, at: s.at };
  },
  async Recover(node, input) {
    const m = map(input);
    const force = m.force;
    if (force !== undefined && typeof force !== 'boolean') throw new CallError('EINPUT', 'payload: "force" expected a boolean');
    await agentOf(node, input).recover(text(m, 'snapshot', true), { force: force === true });
    return null;
  },
  async Pause(node, input) {
    const a = agentOf(node, input);
    await a.pause();
    return summary(a);
  },
  async Resume(node, input) {
    const a = agentOf(node, input);
    await a.resume();
    return summary(a);
  },
  async Terminate(node, input) {
    await agentOf(node, input).terminate();
    return null;
  },
  async TraceHead(node) {
    return node.roles.trace.head();
  },
  async TraceEntries(node, input) {
    const m = map(input);
    return node.roles.trace.range({ from: uint(m, 'from'), to: uint(m, 'to') });
  },
  async TraceProof(node, input, cutoff = {}) {
    const m = map(input);
    const from = uint(m, 'from');
    const to = uint(m, 'to');
    const costLimit = text(m, 'costLimit', false);
    const agreement = text(m, 'agreement', false);
    try {
      const { limitSource: _, ...file } = await inProverTurn(() =>
        proveTraceRange(node.store.kv, {
          from,
          to,
          ...(costLimit === undefined ? {} : { costLimit }),
          ...(agreement === undefined ? {} : { agreement }),
          ...cutoff,
          name: 'the node',
        }),
      );
      return file;
    } catch (e) {
      // What the caller must change is in its payload: a usage error of the SDK is the payload's EINPUT here.
      if (e instanceof Mcp0Error && e.code === 'EUSAGE') throw new CallError('EINPUT', `payload: ${e.message}`, { ...e.details }, { cause: e });
      throw e;
    }
  },
  async Checkpoint(node) {
    return (await new CheckpointLog(node.store.kv).latest()) ?? null;
  },
  async Metrics(node) {
    return node.metrics();
  },
  async Info(node) {
    const roles = (Object.keys(ROLE_NAMES) as RoleName[]).filter((r) => node.hasRole(r)).map((r) => ROLE_NAMES[r]);
    return { distribution: { name: node.distribution.name, version: node.distribution.version }, roles, abi: ABI_VERSION };
  },
};
