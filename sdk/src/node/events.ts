/**
 * What a node tells its embedder: the events it emits (agents' lifecycle, finished operations, the
 * kernel's transitions and logs, checkpoints) and the stored agents it did not bring back.
 */
import type { CallError, ErrorCode } from '@mcp0/abi';
import type { GuestLog, TransitionEvent } from '@mcp0/kernel';
import type { TraceCheckpoint } from '../trace/checkpoint.js';
import type { LeaseHolder } from './lease.js';

/**
 * A lifecycle event of an agent.
 * @example
 * node.on('agent', (e: AgentEvent) => console.log(e.type, e.name, e.snapshot ?? e.reason ?? ''))
 */
export interface AgentEvent {
  type: 'spawned' | 'paused' | 'resumed' | 'snapshot' | 'recovered' | 'terminated' | 'healed' | 'heal-failed' | 'refused';
  agent: string;
  name: string;
  snapshot?: string;
  reason?: string;
  at: number;
}

/**
 * One finished operation.
 * @example
 * node.on('operation', (e: OperationEvent) => e.status === 'denied' && console.warn(e.agent, e.intent, e.reason))
 */
export interface OperationEvent {
  agent: string;
  intent: string;
  status: 'ok' | 'denied' | 'error';
  code?: string;
  reason?: string;
}

/**
 * The node's events.
 * @example
 * node.on('transition', (e) => console.log(e.module, e.from, '→', e.to))
 * node.on('log', (l) => console.error(`[${l.module}] ${l.level}: ${l.msg}`))
 */
export interface NodeEvents {
  agent: [AgentEvent];
  operation: [OperationEvent];
  transition: [TransitionEvent];
  log: [GuestLog];
  'hook-error': [{ module: string; hook: string; error: CallError }];
  /** A trace checkpoint the node signed and stored. */
  checkpoint: [TraceCheckpoint];
  /** A timed or final checkpoint that failed (the next tick tries again). */
  'checkpoint-error': [Error];
}

/**
 * A stored agent the node did not bring back, and why: its record is malformed (`EINPUT`), its
 * publisher is not trusted (`EUNTRUSTED`), its grants go beyond `allowedAgentGrants` (`EPERM`),
 * its module does not load (that error's code), or another node runs it (`EBUSY`, with `holder`:
 * that node holds the agent's lease; also listed here once another node took over an agent this
 * node ran). The record stays in the store untouched.
 * @example
 * for (const r of node.agents.refused()) console.warn(`${r.name} (${r.id}) not brought back: ${r.reason}`)
 */
export interface RefusedAgent {
  id: string;
  name: string;
  code: ErrorCode;
  reason: string;
  /** For EBUSY: the node that holds the agent's lease (another process, or another host). */
  holder?: LeaseHolder;
}
