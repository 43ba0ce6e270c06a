/**
 * The node's side of its agents: the ones it runs (their records and the keys that verified them),
 * the ones it refused, one queue per agent so that its operations and lifecycle changes run one at
 * a time, and the services they share (kernel, store, records, leases, state, metrics, policy). The
 * files that act on agents (spawn.ts, bring-back.ts, operations.ts, healing.ts) work through it.
 */
import type { EventEmitter } from 'node:events';
import { CallError, parseGrant, type PublicKey } from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import type { Store } from '../store/index.js';
import type { AgentStateKv } from './agent-state.js';
import type { AgentEvent, NodeEvents, RefusedAgent } from './events.js';
import { NodeLeases, leaseText, type LeaseOptions } from './lease.js';
import { NodeMetrics } from './metrics.js';
import type { AgentPolicy } from './policy.js';
import { AgentRecords, type AgentRecord } from './records.js';
import { callRole, providesRole, type Role } from './roles.js';
import { roleClients, type RoleClients } from '../roles/index.js';

/**
 * The state and services a node's agents share; made by the node.
 * @example
 * const host = new AgentHost(kernel, store, 'standard', state, policy, node, options.lease)
 * await host.serial(id, async () => host.require(id))
 */
export class AgentHost {
  /** The agents this node runs, by id. */
  readonly live = new Map<string, AgentRecord>();
  /** Stored agents this node did not bring back, or gave up, by id. */
  readonly refused = new Map<string, RefusedAgent>();
  /** The trusted key each live agent's module was verified with, for reloads (healing). */
  readonly publishers = new Map<string, PublicKey>();
  readonly records: AgentRecords;
  /** The leases of the agents this node runs (one node per agent). */
  readonly leases: NodeLeases;
  readonly metrics: NodeMetrics;
  /** Typed clients of the distribution's roles (`host.roles.storage.snapshot({ agent })`). */
  readonly roles: RoleClients;
  /** Set once the node stops: no new work starts. */
  stopped = false;
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly kernel: Kernel,
    readonly store: Store,
    /** The distribution's name, for messages. */
    readonly distribution: string,
    readonly state: AgentStateKv,
    readonly policy: AgentPolicy,
    readonly events: EventEmitter<NodeEvents>,
    lease?: LeaseOptions,
  ) {
    this.records = new AgentRecords(store.kv, store.blocks);
    this.leases = new NodeLeases(store, lease);
    this.metrics = new NodeMetrics(kernel, () => this.counts());
    this.roles = roleClients((role, exportName, value) => callRole(kernel, distribution, role, exportName, value));
  }

  /**
   * True when a plugin of the distribution provides the role.
   * @example
   * if (host.hasRole('agreements')) await host.roles.agreements.unbind({ agent: id })
   */
  hasRole(role: Role): boolean {
    return providesRole(this.kernel, role);
  }

  /**
   * Runs `task` after the agent's earlier tasks: one operation or lifecycle change at a time per agent.
   * @example
   * await host.serial(id, () => pause(id))
   */
  serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(id) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return next;
  }

  /**
   * Settles once every task queued so far has ended (how `stop` waits for operations in progress).
   * @example
   * await host.settled()
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()]);
  }

  /**
   * The record of a live agent; ESTATE once the node stopped, the refusal for an agent this node
   * gave up, ENOTFOUND otherwise.
   * @example
   * const r = host.require(id)
   */
  require(id: string): AgentRecord {
    if (this.stopped) throw new CallError('ESTATE', 'the node is stopped');
    const r = this.live.get(id);
    if (!r) {
      // An agent this node gave up (another node took it over) answers why, not "no agent".
      const refused = this.refused.get(id);
      if (refused)
        throw new CallError(refused.code, `agent ${refused.name} (${id}) is not run by this node: ${refused.reason}`, {
          agent: id,
          ...(refused.holder ? { holder: { ...refused.holder } } : {}),
        });
      throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(id)} on this node`, { agent: id });
    }
    return r;
  }

  /**
   * Lists a stored agent as refused, and says so in an `agent` event.
   * @example
   * host.refuse({ id, name, code: 'EUNTRUSTED', reason: 'its publisher is not trusted' })
   */
  refuse(refused: RefusedAgent): void {
    this.refused.set(refused.id, refused);
    this.events.emit('agent', { type: 'refused', agent: refused.id, name: refused.name, reason: `${refused.code}: ${refused.reason}`, at: Date.now() });
  }

  /**
   * Emits an `agent` event about `r`.
   * @example
   * host.event('snapshot', r, { snapshot: snap.id })
   */
  event(type: AgentEvent['type'], r: AgentRecord, extra: Partial<AgentEvent> = {}): void {
    this.events.emit('agent', { type, agent: r.id, name: r.name, at: Date.now(), ...extra });
  }

  /**
   * Throws EBUSY when this node no longer holds `id`'s lease (another node took the agent over
   * after this node's heartbeat lapsed): the agent is unloaded here and listed as refused.
   * @example
   * await host.holding(id) // before anything that writes the agent's state
   */
  async holding(id: string): Promise<void> {
    const holder = await this.leases.check(id);
    if (!holder) return;
    const r = this.live.get(id);
    const name = r?.name ?? id;
    this.live.delete(id);
    this.publishers.delete(id);
    this.state.discard(id);
    await this.kernel.unload(id).catch(() => undefined);
    const reason = holder.node ? `another node took it over: ${leaseText(holder)}` : `its lease was released by someone else (lease token ${holder.token})`;
    this.refuse({ id, name, code: 'EBUSY', reason, ...(holder.node ? { holder } : {}) });
    throw new CallError('EBUSY', `agent ${name} (${id}): this node no longer holds its lease: ${reason}`, {
      agent: id,
      ...(holder.node ? { holder: { ...holder } } : {}),
    });
  }

  /**
   * Loads an agent's module from its record, under the key recorded in `publishers`, in the
   * worker tier with the node's ceilings; paused when the record says so.
   * @example
   * await host.load(record)
   */
  async load(record: AgentRecord): Promise<void> {
    const key = this.publishers.get(record.id);
    if (!key) throw new CallError('EINTERNAL', `agent ${record.id}: no trusted publisher key recorded`);
    const module = await this.kernel.load(await this.records.module(record), {
      name: record.id,
      trust: [key],
      grants: record.grants.map(parseGrant),
      isolation: 'worker',
      config: record.config,
      ...this.policy.ceilings,
    });
    if (record.state === 'paused') module.pause();
  }

  /**
   * How many live agents run and how many are paused (for the metrics).
   * @example
   * host.counts() // { running: 2, paused: 1 }
   */
  counts(): { running: number; paused: number } {
    let running = 0;
    let paused = 0;
    for (const r of this.live.values()) r.state === 'paused' ? paused++ : running++;
    return { running, paused };
  }
}
