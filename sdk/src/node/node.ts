/**
 * A node: one kernel over one store, running a distribution's plugins and the agents spawned on it.
 * It is where the parts meet: the store serves plugins' kv and blocks, the storage plugin serves
 * agents' kv (with an operation's writes applied together), the distribution fixes the pipeline,
 * and agent records make agents outlive the process. This file is the node's lifecycle (start,
 * stop) and its public face; what it does with agents is in host.ts and the files it names, its
 * policy for agents in policy.ts, the roles in roles.ts, healing in healing.ts.
 */
import { EventEmitter } from 'node:events';
import { CallError, UsageError, type CborValue } from '@mcp0/abi';
import { Kernel } from '@mcp0/kernel';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import type { TraceCheckpoint } from '../trace/checkpoint.js';
import { AgentStateKv } from './agent-state.js';
import { Agents } from './agents.js';
import { bringBack } from './bring-back.js';
import { nodeCheckpointer, type Checkpointer } from './checkpoints.js';
import type { NodeEvents } from './events.js';
import { heal } from './healing.js';
import { AgentHost } from './host.js';
import type { NodeMetricsJson } from './metrics.js';
import { agentDriver } from './operations.js';
import type { NodeDistribution, NodeOptions } from './options.js';
import { AgentPolicy } from './policy.js';
import { AgentRecords } from './records.js';
import { ROLES, callRole, providesRole, roleModule } from './roles.js';
import { roleClients, type RoleClients } from '../roles/index.js';
import { spawnAgent } from './spawn.js';

/**
 * A running node.
 * @example
 * const node = await Node.start({ distribution: await loadDistribution('distributions/standard/build'), store: 'lmdb:./data' })
 * const agent = await node.agents.spawn({ module: counterWasm, name: 'counter' })
 * await agent.execute('increment', { by: 2 }) // { value: 2 }
 * await node.stop()
 */
export class Node extends EventEmitter<NodeEvents> {
  readonly kernel: Kernel;
  readonly store: Store;
  readonly distribution: NodeDistribution;
  /** The node's agents. */
  readonly agents: Agents;
  /**
   * Typed clients of the distribution's roles: each export checks its request and the plugin's answer
   * against the role's contract (abi/ROLES.md); EUNAVAILABLE when the distribution lacks the role.
   * @example
   * const { seq, head } = await node.roles.trace.head()
   */
  readonly roles: RoleClients;
  readonly #ownsStore: boolean;
  /** Its agents and the services they share. */
  readonly #host: AgentHost;
  readonly #checkpoints: Checkpointer | undefined;

  private constructor(options: NodeOptions, store: Store, ownsStore: boolean) {
    super();
    this.store = store;
    this.#ownsStore = ownsStore;
    this.distribution = options.distribution;
    const policy = new AgentPolicy(options);
    this.roles = roleClients((role, exportName, value) => this.callRole(role, exportName, value));
    const state = new AgentStateKv(this.roles.storage);
    this.kernel = new Kernel({
      trust: policy.trust,
      providers: { kv: store.kv, blocks: store.blocks, agentKv: state, ...(options.clock ? { clock: options.clock } : {}) },
      ...(options.restart ? { restart: options.restart } : {}),
    });
    const host = new AgentHost(this.kernel, store, options.distribution.name, state, policy, this, options.lease);
    this.#host = host;
    const driver = agentDriver(host);
    this.agents = new Agents(
      (o) => spawnAgent(host, driver, o),
      () => [...host.live.values()],
      () => [...host.refused.values()],
      driver,
    );
    this.kernel.on('transition', (e) => {
      this.emit('transition', e);
      if (e.to === 'failed' && host.live.has(e.module)) heal(host, e.module, e.reason ?? 'the module failed');
    });
    this.kernel.on('log', (e) => this.emit('log', e));
    this.kernel.on('hook-error', (e) => this.emit('hook-error', e));
    this.#checkpoints = nodeCheckpointer(
      this,
      store.kv,
      options,
      (cp) => this.emit('checkpoint', cp),
      (e) => this.emit('checkpoint-error', e),
    );
  }

  /**
   * Opens the store, loads the distribution's plugins in order, sets the pipeline and brings back
   * the agents stored by an earlier run.
   * @example
   * const node = await Node.start({ distribution, store: 'memory:' })
   */
  static async start(options: NodeOptions): Promise<Node> {
    const owns = typeof options.store === 'string';
    if (typeof options.store !== 'string' && options.store.synchronous === false && options.distribution.plugins.some((p) => p.isolation !== 'worker')) {
      throw new UsageError(
        'EUSAGE',
        `the distribution ${options.distribution.name} runs plugins in the inline tier, which cannot wait for an asynchronous store (${options.store.uri}): give the node the URI (it opens MongoSyncStore), or a store from openStore(uri, { synchronous: true })`,
      );
    }
    const store =
      typeof options.store === 'string' ? await openStore(options.store, { create: options.createStore ?? true, synchronous: true }) : options.store;
    let node: Node | undefined;
    try {
      const stored = await new AgentRecords(store.kv, store.blocks).list();
      node = new Node(options, store, owns);
      await node.#host.leases.start();
      for (const p of options.distribution.plugins) {
        await node.kernel.load(p.bytes, {
          grants: p.grants,
          ...(p.config === undefined ? {} : { config: p.config }),
          ...(p.isolation === undefined ? {} : { isolation: p.isolation }),
          ...(p.preempt === undefined ? {} : { preempt: p.preempt }),
        });
      }
      node.kernel.setPipeline(options.distribution.pipeline);
      for (const m of stored.malformed) node.#host.refuse({ id: m.id, name: m.id, code: 'EINPUT', reason: `its record ${m.key} is malformed: ${m.reason}` });
      for (const record of stored.records) await bringBack(node.#host, record);
    } catch (e) {
      if (node) await node.stop();
      else if (owns) await store.close();
      throw e;
    }
    return node;
  }

  /**
   * The node's metrics as JSON.
   * @example
   * const { operations, denials, modules } = node.metrics()
   */
  metrics(): NodeMetricsJson {
    return this.#host.metrics.json();
  }

  /**
   * The node's metrics in the Prometheus text format.
   * @example
   * http.createServer(async (_, res) => res.end(await node.metricsText()))
   */
  metricsText(): Promise<string> {
    return this.#host.metrics.text();
  }

  /**
   * Calls a role's export (storage, agreements, trace) with a value, unchecked; EUNAVAILABLE when
   * the distribution lacks the role. `node.roles` is the typed, checked way: this one is for an
   * export the role's contract does not name (a plugin's own addition).
   * @example
   * await node.callRole('trace', 'poseidon', ['1', '2'])
   */
  callRole(role: keyof typeof ROLES, exportName: string, value: CborValue): Promise<CborValue> {
    return callRole(this.kernel, this.distribution.name, role, exportName, value);
  }

  /**
   * True when a plugin of the distribution provides the role.
   * @example
   * node.hasRole('agreements') // false for a distribution without agreements
   */
  hasRole(role: keyof typeof ROLES): boolean {
    return providesRole(this.kernel, role);
  }

  /**
   * Signs the trace head now with the operator key, stores the checkpoint (kv namespace
   * `mcp0.node`, `checkpoint/<seq>`) and returns it. ESTATE without an operator key, EUNAVAILABLE
   * without a trace role, ENOTFOUND on an empty trace.
   * @example
   * const cp = await node.checkpoint() // { type: 'mcp0.trace-checkpoint/1', seq, head, time, signer, sig }
   */
  async checkpoint(): Promise<TraceCheckpoint> {
    if (this.#host.stopped) throw new CallError('ESTATE', 'the node is stopped');
    if (!this.#checkpoints)
      throw new CallError('ESTATE', 'the node has no operator key (NodeOptions.operatorKey): it signs no checkpoints', { reason: 'no-operator-key' });
    roleModule(this.kernel, this.distribution.name, 'trace');
    return this.#checkpoints.sign();
  }

  /**
   * Waits for operations in progress, stops every module and closes the store it opened.
   * @example
   * process.once('SIGTERM', () => node.stop())
   */
  async stop(): Promise<void> {
    if (this.#host.stopped) return;
    this.#host.stopped = true;
    await this.#host.settled();
    // The last checkpoint covers every operation, before the trace plugin stops.
    await this.#checkpoints?.stop();
    await this.kernel.stop();
    // Released before the store closes, so another node may run the agents at once (one that
    // cannot be released lapses when the heartbeat expires).
    await this.#host.leases.stop().catch(() => undefined);
    if (this.#ownsStore) await this.store.close();
  }
}
