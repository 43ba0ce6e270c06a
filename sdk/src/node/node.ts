/**
 * A node: one kernel over one store, running a distribution's plugins and the agents spawned on it.
 * It is where the parts meet: the store serves plugins' kv and blocks, the storage plugin serves
 * agents' kv (with an operation's writes applied together), the distribution fixes the pipeline,
 * and agent records make agents outlive the process. Self-healing: when an agent's module fails
 * (repeated traps, timeouts, a dead worker), the node restores its last snapshot and reloads it.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  CallError, DeniedError, UsageError, decodeCbor, encodeCbor, parseGrant, parsePublicJwk, toPublicJwk,
  type CborValue, type Grant, type PublicKey,
} from '@mcp0/abi';
import {
  DEFAULT_CEILINGS, Kernel, type Ceilings, type ClockProvider, type GuestLog, type LoadedModule, type Pipeline, type RestartPolicy, type Tier, type TransitionEvent,
} from '@mcp0/kernel';
import { openStore, type Store } from '../store/index.js';
import { Agent, type AgentDriver } from './agent.js';
import { AgentStateKv } from './agent-state.js';
import { NodeMetrics, type NodeMetricsJson } from './metrics.js';
import { AgentRecords, MAX_SNAPSHOTS, type AgentRecord, type SnapshotRecord } from './records.js';

/**
 * The roles the node talks to by what they provide, never by name.
 * @example
 * if (node.hasRole('trace')) console.log(await node.callRole('trace', 'head', {}))
 */
export const ROLES = { storage: 'mcp0.storage@1', agreements: 'mcp0.agreements@1', trace: 'mcp0.trace@1' } as const;

/**
 * A distribution as the node runs it: verified plugins in load order, and the pipeline.
 * @example
 * const distribution: NodeDistribution = await loadDistribution('dist/standard/build', { trust: [assemblerKey] })
 */
export interface NodeDistribution {
  name: string;
  version: string;
  /** Keys trusted to sign the plugins. */
  publishers: PublicKey[];
  plugins: { name: string; bytes: Uint8Array; grants: Grant[]; config?: CborValue; isolation?: Tier; preempt?: boolean }[];
  pipeline: Pipeline;
}

/**
 * `Node.start` options.
 * @example
 * const options: NodeOptions = { distribution, store: 'lmdb:./data', trust: [developer.publicKey], restart: { failureThreshold: 3 } }
 * const node = await Node.start(options)
 */
export interface NodeOptions {
  /** A verified distribution (see `loadDistribution`). */
  distribution: NodeDistribution;
  /** A store URI (`lmdb:./data`, `memory:`, `mongodb://…`) or an open store (the node then does not close it). */
  store: string | Store;
  /** Keys trusted to sign agents, beside the distribution's publishers. */
  trust?: PublicKey[];
  clock?: ClockProvider;
  /** The kernel's restart policy; `failureThreshold` failed calls in a row make a module fail, and an agent heal. */
  restart?: Partial<RestartPolicy>;
  /** Grants an agent gets when `spawn` names none (default: kv, clock, random). */
  agentGrants?: string[];
  /** The most memory and time an agent's calls get, whatever its manifest asks (default DEFAULT_AGENT_CEILINGS). */
  agentCeilings?: Partial<Ceilings>;
}

/** An agent's ceilings unless the node is told otherwise: 16 MiB of memory, 5 s per call, the kernel's table cap. */
export const DEFAULT_AGENT_CEILINGS: Ceilings = { ...DEFAULT_CEILINGS, memoryPages: 256, timeoutMs: 5_000 };

/**
 * `node.agents.spawn` options.
 * @example
 * const options: SpawnOptions = { module: signedWasm, name: 'notes', agreement: 'agr-1', grants: ['kv', 'clock'] }
 * const agent = await node.agents.spawn(options)
 */
export interface SpawnOptions {
  /** A signed module of kind `agent`. */
  module: Uint8Array;
  /** A name unique among the node's agents. */
  name: string;
  /** The id of an agreement registered with the agreements plugin, to run the agent under. */
  agreement?: string;
  config?: CborValue;
  grants?: string[];
}

/**
 * A lifecycle event of an agent.
 * @example
 * node.on('agent', (e: AgentEvent) => console.log(e.type, e.name, e.snapshot ?? e.reason ?? ''))
 */
export interface AgentEvent {
  type: 'spawned' | 'paused' | 'resumed' | 'snapshot' | 'recovered' | 'terminated' | 'healed' | 'heal-failed';
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
}

const DEFAULT_AGENT_GRANTS = ['kv', 'clock', 'random'];
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A running node.
 * @example
 * const node = await Node.start({ distribution: await loadDistribution('dist/standard/build'), store: 'lmdb:./data' })
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
  readonly #ownsStore: boolean;
  readonly #state: AgentStateKv;
  readonly #records: AgentRecords;
  readonly #live = new Map<string, AgentRecord>();
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #metrics: NodeMetrics;
  readonly #agentGrants: string[];
  readonly #agentCeilings: Ceilings;
  /** Keys trusted to sign modules: the distribution's publishers and the embedder's. */
  readonly #trust: PublicKey[];
  #stopped = false;

  private constructor(options: NodeOptions, store: Store, ownsStore: boolean) {
    super();
    this.store = store;
    this.#ownsStore = ownsStore;
    this.distribution = options.distribution;
    this.#agentGrants = options.agentGrants ?? DEFAULT_AGENT_GRANTS;
    this.#agentCeilings = { ...DEFAULT_AGENT_CEILINGS, ...options.agentCeilings };
    this.#trust = [...options.distribution.publishers, ...(options.trust ?? [])];
    this.#state = new AgentStateKv((exp, value) => this.kernel.callValue(this.#role('storage').name, exp, value));
    this.kernel = new Kernel({
      trust: this.#trust,
      providers: { kv: store.kv, blocks: store.blocks, agentKv: this.#state, ...(options.clock ? { clock: options.clock } : {}) },
      ...(options.restart ? { restart: options.restart } : {}),
    });
    this.#records = new AgentRecords(store.kv, store.blocks);
    this.#metrics = new NodeMetrics(this.kernel, () => this.#counts());
    this.agents = new Agents((o) => this.#spawn(o), () => [...this.#live.values()], this.#driver());
    this.kernel.on('transition', (e) => {
      this.emit('transition', e);
      if (e.to === 'failed' && this.#live.has(e.module)) this.#heal(e.module, e.reason ?? 'the module failed');
    });
    this.kernel.on('log', (e) => this.emit('log', e));
    this.kernel.on('hook-error', (e) => this.emit('hook-error', e));
  }

  /**
   * Opens the store, loads the distribution's plugins in order, sets the pipeline and brings back
   * the agents stored by an earlier run.
   * @example
   * const node = await Node.start({ distribution, store: 'memory:' })
   */
  static async start(options: NodeOptions): Promise<Node> {
    const owns = typeof options.store === 'string';
    const store = typeof options.store === 'string' ? await openStore(options.store) : options.store;
    let node: Node | undefined;
    try {
      const records = await new AgentRecords(store.kv, store.blocks).list();
      node = new Node(options, store, owns);
      for (const p of options.distribution.plugins) {
        await node.kernel.load(p.bytes, {
          grants: p.grants,
          ...(p.config === undefined ? {} : { config: p.config }),
          ...(p.isolation === undefined ? {} : { isolation: p.isolation }),
          ...(p.preempt === undefined ? {} : { preempt: p.preempt }),
        });
      }
      node.kernel.setPipeline(options.distribution.pipeline);
      for (const record of records) await node.#bringBack(record);
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
    return this.#metrics.json();
  }

  /**
   * The node's metrics in the Prometheus text format.
   * @example
   * http.createServer(async (_, res) => res.end(await node.metricsText()))
   */
  metricsText(): Promise<string> {
    return this.#metrics.text();
  }

  /**
   * Calls a role's export (storage, agreements, trace) with a value; EUNAVAILABLE when the
   * distribution lacks the role.
   * @example
   * await node.callRole('agreements', 'register', { document: signedAgreement })
   */
  callRole(role: keyof typeof ROLES, exportName: string, value: CborValue): Promise<CborValue> {
    return this.kernel.callValue(this.#role(role).name, exportName, value);
  }

  /**
   * True when a plugin of the distribution provides the role.
   * @example
   * node.hasRole('agreements') // false for a distribution without agreements
   */
  hasRole(role: keyof typeof ROLES): boolean {
    return this.kernel.modules().some((m) => m.manifest.provides?.includes(ROLES[role]));
  }

  /**
   * Waits for operations in progress, stops every module and closes the store it opened.
   * @example
   * process.once('SIGTERM', () => node.stop())
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.allSettled([...this.#queues.values()]);
    await this.kernel.stop();
    if (this.#ownsStore) await this.store.close();
  }

  #role(role: keyof typeof ROLES): LoadedModule {
    const m = this.kernel.modules().find((x) => x.manifest.provides?.includes(ROLES[role]));
    if (!m) throw new CallError('EUNAVAILABLE', `the distribution ${this.distribution.name} has no plugin providing ${ROLES[role]}`, { role: ROLES[role] });
    return m;
  }

  #counts(): { running: number; paused: number } {
    let running = 0;
    let paused = 0;
    for (const r of this.#live.values()) r.state === 'paused' ? paused++ : running++;
    return { running, paused };
  }

  /** Runs `task` after the agent's earlier tasks: one operation or lifecycle change at a time per agent. */
  #serial<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(id) ?? Promise.resolve();
    const next = prev.then(task, task);
    const tail = next.catch(() => undefined);
    this.#queues.set(id, tail);
    void tail.then(() => {
      if (this.#queues.get(id) === tail) this.#queues.delete(id);
    });
    return next;
  }

  #require(id: string): AgentRecord {
    if (this.#stopped) throw new CallError('ESTATE', 'the node is stopped');
    const r = this.#live.get(id);
    if (!r) throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(id)} on this node`, { agent: id });
    return r;
  }

  #event(type: AgentEvent['type'], r: AgentRecord, extra: Partial<AgentEvent> = {}): void {
    this.emit('agent', { type, agent: r.id, name: r.name, at: Date.now(), ...extra });
  }

  async #spawn(options: SpawnOptions): Promise<Agent> {
    if (this.#stopped) throw new CallError('ESTATE', 'the node is stopped');
    if ([...this.#live.values()].some((r) => r.name === options.name)) {
      throw new UsageError('EUSAGE', `an agent named ${JSON.stringify(options.name)} already exists`, { name: options.name });
    }
    const id = `agent-${randomBytes(8).toString('hex')}`;
    const grants = options.grants ?? this.#agentGrants;
    const module = await this.kernel.load(options.module, { name: id, grants: grants.map(parseGrant), isolation: 'worker', config: options.config ?? {}, ...this.#agentCeilings });
    try {
      if (module.manifest.kind !== 'agent') {
        throw new UsageError('EUSAGE', `${module.manifest.name} is a module of kind ${module.manifest.kind}, expected kind "agent"`, { kind: module.manifest.kind });
      }
      if (options.agreement !== undefined) await this.callRole('agreements', 'bind', { agent: id, agreement: options.agreement });
      const record: AgentRecord = {
        id,
        name: options.name,
        module: { name: module.manifest.name, version: module.manifest.version, blocks: await this.#records.putModule(options.module) },
        publisher: JSON.stringify(toPublicJwk(this.#signer(module))),
        grants: [...grants],
        config: options.config ?? {},
        agreement: options.agreement ?? null,
        state: 'running',
        created: Date.now(),
        snapshots: [],
      };
      await this.#records.save(record);
      this.#live.set(id, record);
      this.#event('spawned', record);
      return new Agent(id, this.#driver());
    } catch (e) {
      await this.kernel.unload(id).catch(() => undefined);
      throw e;
    }
  }

  /** The trusted key that verified a module (the kernel checked one exists). */
  #signer(module: LoadedModule): PublicKey {
    const key = this.#trust.find((k) => module.verified.signers.includes(k.kid));
    if (!key) throw new CallError('EINTERNAL', `${module.name}: verified, but by none of the trusted keys (${module.verified.signers.join(', ')})`);
    return key;
  }

  async #bringBack(record: AgentRecord): Promise<void> {
    await this.#load(record);
    this.#live.set(record.id, record);
  }

  async #load(record: AgentRecord): Promise<void> {
    const module = await this.kernel.load(await this.#records.module(record), {
      name: record.id, trust: [parsePublicJwk(JSON.parse(record.publisher))], grants: record.grants.map(parseGrant), isolation: 'worker', config: record.config,
      ...this.#agentCeilings,
    });
    if (record.state === 'paused') module.pause();
  }

  async #execute(id: string, intent: string, input: CborValue): Promise<CborValue> {
    const bytes = encodeCbor(input);
    return this.#serial(id, async () => {
      const r = this.#require(id);
      if (r.state === 'paused') throw new CallError('ESTATE', `agent ${r.name} (${id}) is paused`, { agent: id, state: r.state });
      this.#state.begin(id);
      try {
        const { output } = await this.kernel.execute({ agent: id, intent, input: bytes });
        await this.#state.commit(id);
        this.#metrics.operation(id, 'ok');
        this.emit('operation', { agent: id, intent, status: 'ok' });
        return output.length === 0 ? null : decodeCbor(output);
      } catch (e) {
        this.#state.discard(id);
        if (e instanceof DeniedError) {
          const by = typeof e.details.by === 'string' ? e.details.by : 'unknown';
          this.#metrics.operation(id, 'denied', by);
          this.emit('operation', { agent: id, intent, status: 'denied', code: e.code, reason: String(e.details.reason ?? e.message) });
        } else {
          const code = e instanceof CallError ? e.code : 'EINTERNAL';
          this.#metrics.operation(id, 'error', code);
          this.emit('operation', { agent: id, intent, status: 'error', code });
        }
        throw e;
      }
    });
  }

  async #setState(id: string, state: 'running' | 'paused'): Promise<void> {
    return this.#serial(id, async () => {
      const r = this.#require(id);
      if (r.state === state) return;
      const module = this.kernel.module(id);
      if (state === 'paused') module.pause();
      else module.resume();
      r.state = state;
      await this.#records.save(r);
      this.#event(state === 'paused' ? 'paused' : 'resumed', r);
    });
  }

  async #snapshot(id: string): Promise<SnapshotRecord> {
    return this.#serial(id, async () => {
      const r = this.#require(id);
      const out = (await this.callRole('storage', 'snapshot', { agent: id })) as { root: Uint8Array };
      const snap = { id: toHex(out.root), at: Date.now() };
      r.snapshots = [...r.snapshots, snap].slice(-MAX_SNAPSHOTS);
      await this.#records.save(r);
      this.#event('snapshot', r, { snapshot: snap.id });
      return snap;
    });
  }

  async #recover(id: string, snapshotId: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(snapshotId)) throw new UsageError('EUSAGE', `snapshot id: expected 64 hex digits, got ${JSON.stringify(snapshotId)}`);
    return this.#serial(id, async () => {
      const r = this.#require(id);
      await this.callRole('storage', 'restore', { agent: id, root: Buffer.from(snapshotId, 'hex') });
      this.#event('recovered', r, { snapshot: snapshotId });
    });
  }

  async #terminate(id: string): Promise<void> {
    return this.#serial(id, async () => {
      const r = this.#require(id);
      await this.kernel.unload(id);
      if (r.agreement !== null && this.hasRole('agreements')) await this.callRole('agreements', 'unbind', { agent: id }).catch(() => undefined);
      await this.#records.remove(id);
      this.#live.delete(id);
      this.#event('terminated', r);
    });
  }

  async #stateRoot(id: string): Promise<string> {
    this.#require(id);
    const out = (await this.callRole('storage', 'snapshot', { agent: id })) as { root: Uint8Array };
    return toHex(out.root);
  }

  /** Restores the last snapshot and reloads the module, after the kernel marked it failed. */
  #heal(id: string, reason: string): void {
    void this.#serial(id, async () => {
      const r = this.#live.get(id);
      if (!r || this.#stopped) return;
      const last = r.snapshots.at(-1);
      try {
        await this.kernel.unload(id);
        if (last) await this.callRole('storage', 'restore', { agent: id, root: Buffer.from(last.id, 'hex') });
        await this.#load(r);
        this.#metrics.heal(id);
        this.#event('healed', r, { reason, ...(last ? { snapshot: last.id } : {}) });
      } catch (e) {
        this.#event('heal-failed', r, { reason: `${reason}; healing failed: ${(e as Error).message}` });
      }
    });
  }

  #driver(): AgentDriver {
    return {
      record: (id) => this.#live.get(id),
      execute: (id, intent, input) => this.#execute(id, intent, input),
      pause: (id) => this.#setState(id, 'paused'),
      resume: (id) => this.#setState(id, 'running'),
      snapshot: (id) => this.#snapshot(id),
      recover: (id, snap) => this.#recover(id, snap),
      terminate: (id) => this.#terminate(id),
      stateRoot: (id) => this.#stateRoot(id),
    };
  }
}

/**
 * The agents of a node.
 * @example
 * const agent = await node.agents.spawn({ module, name: 'notes', agreement: 'agr-1' })
 * node.agents.list().map((a) => a.name)
 */
export class Agents {
  readonly #spawn: (options: SpawnOptions) => Promise<Agent>;
  readonly #records: () => AgentRecord[];
  readonly #driver: AgentDriver;

  /** @internal Made by the node. */
  constructor(spawn: (options: SpawnOptions) => Promise<Agent>, records: () => AgentRecord[], driver: AgentDriver) {
    this.#spawn = spawn;
    this.#records = records;
    this.#driver = driver;
  }

  /**
   * Loads a signed agent module in the worker tier under a new id, binds it to its agreement and
   * records it, so it survives restarts.
   * @example
   * const agent = await node.agents.spawn({ module: signedWasm, name: 'notes', agreement: 'agr-1' })
   */
  spawn(options: SpawnOptions): Promise<Agent> {
    return this.#spawn(options);
  }

  /**
   * Every agent on the node, oldest first.
   * @example
   * node.agents.list().map((a) => a.name) // ['a', 'b']
   */
  list(): Agent[] {
    return this.#records().sort((a, b) => a.created - b.created).map((r) => new Agent(r.id, this.#driver));
  }

  /**
   * The agent with this id or name; ENOTFOUND otherwise.
   * @example
   * const notes = node.agents.get('notes')
   */
  get(idOrName: string): Agent {
    const r = this.#records().find((x) => x.id === idOrName || x.name === idOrName);
    if (!r) throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(idOrName)} on this node`, { agent: idOrName });
    return new Agent(r.id, this.#driver);
  }
}
