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
  CallError, DeniedError, Mcp0Error, UsageError, decodeCbor, encodeCbor, parseGrant, parsePublicJwk, toPublicJwk,
  type CborValue, type ErrorCode, type Grant, type PublicKey,
} from '@mcp0/abi';
import {
  DEFAULT_CEILINGS, Kernel, type Ceilings, type ClockProvider, type GuestLog, type LoadedModule, type Pipeline, type RestartPolicy, type Tier, type TransitionEvent,
} from '@mcp0/kernel';
import { covers, formatGrant } from '../dist/grants.js';
import { MongoStore, openStore, type Store } from '../store/index.js';
import { Agent, type AgentDriver, type RecoverOptions } from './agent.js';
import { EMPTY_TREE_ID } from '../archive/format.js';
import { AgentStateKv } from './agent-state.js';
import { NodeLeases, leaseText, type LeaseHolder, type LeaseOptions } from './lease.js';
import { NodeMetrics, type NodeMetricsJson } from './metrics.js';
import { nodeCheckpointer, type Checkpointer } from './checkpoints.js';
import type { TraceCheckpoint } from '../trace/checkpoint.js';
import type { PrivateKey } from '@mcp0/abi';
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
  /**
   * A store URI (`lmdb:./data`, `memory:`, `mongodb://host/db`) or an open store (the node then
   * does not close it). A `mongodb://` URI opens the synchronous MongoSyncStore (`openStore(uri,
   * {synchronous: true})`), which the inline-tier plugins of a distribution (the standard one runs
   * storage, agreements and trace inline) can use; an open asynchronous MongoStore is refused when
   * the distribution has inline plugins (EUSAGE). Several nodes may share one store: each agent is
   * run by one node at a time (see `lease`).
   */
  store: string | Store;
  /**
   * Whether a store named by URI may be created when it does not exist (default true). With false,
   * a store that does not exist is ENOTFOUND ("no store at …"), so a mistyped path fails instead of
   * showing an empty store: for commands that only use agents already there.
   */
  createStore?: boolean;
  /**
   * Leases: the node runs an agent only while it holds the agent's lease in the store, so a second
   * node on the same store (another process, another host) does not run it too: it refuses the
   * agent with EBUSY, naming the holder's pid, host and expiry (`node.agents.refused()`), and takes
   * it over only once the holder's heartbeat expired. The node renews its heartbeat every
   * `renewMs` and releases its leases at `stop()`. Default: a 30 s heartbeat renewed every 10 s.
   */
  lease?: LeaseOptions;
  /** Keys trusted to sign agents, beside the distribution's publishers. */
  trust?: PublicKey[];
  clock?: ClockProvider;
  /**
   * The key the node signs its statements with: trace checkpoints (and archives). With it and a
   * trace role, the node signs its trace head every `checkpointIntervalMs` when the head moved,
   * and once more at `stop()` (see `node.checkpoint()`).
   */
  operatorKey?: PrivateKey;
  /** How often to sign a trace checkpoint, in ms (default DEFAULT_CHECKPOINT_INTERVAL_MS, a minute). */
  checkpointIntervalMs?: number;
  /** The kernel's restart policy; `failureThreshold` failed calls in a row make a module fail, and an agent heal. */
  restart?: Partial<RestartPolicy>;
  /** Grants an agent gets when `spawn` names none (default: kv, clock, random). */
  agentGrants?: string[];
  /**
   * The most any agent on this node may be granted, as grant texts (`kv`, `net:api.example.com`).
   * `spawn` refuses a grant none of these covers (EPERM), and a stored agent whose grants go beyond
   * them is not brought back: a record written into the store by someone else cannot grant itself
   * more than the operator allows. Default: `agentGrants`.
   */
  allowedAgentGrants?: string[];
  /**
   * Asked for the key of a stored agent's publisher when it is not among `trust` (or the
   * distribution's publishers), e.g. a keyring lookup by key id. A key of another id, or none,
   * leaves the agent stored but not brought back (see `node.agents.refused()`).
   */
  publisherKey?: (kid: string) => PublicKey | undefined | Promise<PublicKey | undefined>;
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
  /**
   * The id of an agreement registered with the agreements plugin, to run the agent under. Its
   * consumer must be the trusted key that signed `module` (spawn fails with EPERM otherwise).
   */
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
  readonly #allowedGrants: Grant[];
  readonly #publisherKey: NodeOptions['publisherKey'];
  /** The trusted key each live agent's module was verified with, for reloads (healing). */
  readonly #publishers = new Map<string, PublicKey>();
  readonly #refused = new Map<string, RefusedAgent>();
  readonly #agentCeilings: Ceilings;
  /** Keys trusted to sign modules: the distribution's publishers and the embedder's. */
  readonly #trust: PublicKey[];
  #stopped = false;
  readonly #checkpoints: Checkpointer | undefined;
  /** The leases of the agents this node runs (one node per agent). */
  readonly #leases: NodeLeases;

  private constructor(options: NodeOptions, store: Store, ownsStore: boolean) {
    super();
    this.store = store;
    this.#ownsStore = ownsStore;
    this.distribution = options.distribution;
    this.#agentGrants = options.agentGrants ?? DEFAULT_AGENT_GRANTS;
    this.#allowedGrants = (options.allowedAgentGrants ?? this.#agentGrants).map(parseGrant);
    this.#publisherKey = options.publisherKey;
    this.#agentCeilings = { ...DEFAULT_AGENT_CEILINGS, ...options.agentCeilings };
    this.#trust = [...options.distribution.publishers, ...(options.trust ?? [])];
    this.#state = new AgentStateKv((exp, value) => this.kernel.callValue(this.#role('storage').name, exp, value));
    this.kernel = new Kernel({
      trust: this.#trust,
      providers: { kv: store.kv, blocks: store.blocks, agentKv: this.#state, ...(options.clock ? { clock: options.clock } : {}) },
      ...(options.restart ? { restart: options.restart } : {}),
    });
    this.#records = new AgentRecords(store.kv, store.blocks);
    this.#leases = new NodeLeases(store, options.lease);
    this.#metrics = new NodeMetrics(this.kernel, () => this.#counts());
    this.agents = new Agents((o) => this.#spawn(o), () => [...this.#live.values()], () => [...this.#refused.values()], this.#driver());
    this.kernel.on('transition', (e) => {
      this.emit('transition', e);
      if (e.to === 'failed' && this.#live.has(e.module)) this.#heal(e.module, e.reason ?? 'the module failed');
    });
    this.kernel.on('log', (e) => this.emit('log', e));
    this.kernel.on('hook-error', (e) => this.emit('hook-error', e));
    this.#checkpoints = nodeCheckpointer(this, store.kv, options, (cp) => this.emit('checkpoint', cp), (e) => this.emit('checkpoint-error', e));
  }

  /**
   * Opens the store, loads the distribution's plugins in order, sets the pipeline and brings back
   * the agents stored by an earlier run.
   * @example
   * const node = await Node.start({ distribution, store: 'memory:' })
   */
  static async start(options: NodeOptions): Promise<Node> {
    const owns = typeof options.store === 'string';
    if (options.store instanceof MongoStore && options.distribution.plugins.some((p) => p.isolation !== 'worker')) {
      throw new UsageError('EUSAGE', `the distribution ${options.distribution.name} runs plugins in the inline tier, which cannot wait for the asynchronous MongoStore: give the node the URI (it opens MongoSyncStore), or a store from openStore(uri, { synchronous: true })`);
    }
    const store = typeof options.store === 'string' ? await openStore(options.store, { create: options.createStore ?? true, synchronous: true }) : options.store;
    let node: Node | undefined;
    try {
      const stored = await new AgentRecords(store.kv, store.blocks).list();
      node = new Node(options, store, owns);
      await node.#leases.start();
      for (const p of options.distribution.plugins) {
        await node.kernel.load(p.bytes, {
          grants: p.grants,
          ...(p.config === undefined ? {} : { config: p.config }),
          ...(p.isolation === undefined ? {} : { isolation: p.isolation }),
          ...(p.preempt === undefined ? {} : { preempt: p.preempt }),
        });
      }
      node.kernel.setPipeline(options.distribution.pipeline);
      for (const m of stored.malformed) node.#refuse({ id: m.id, name: m.id, code: 'EINPUT', reason: `its record ${m.key} is malformed: ${m.reason}` });
      for (const record of stored.records) await node.#bringBack(record);
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
   * Signs the trace head now with the operator key, stores the checkpoint (kv namespace
   * `mcp0.node`, `checkpoint/<seq>`) and returns it. ESTATE without an operator key, EUNAVAILABLE
   * without a trace role, ENOTFOUND on an empty trace.
   * @example
   * const cp = await node.checkpoint() // { type: 'mcp0.trace-checkpoint/1', seq, head, time, signer, sig }
   */
  async checkpoint(): Promise<TraceCheckpoint> {
    if (this.#stopped) throw new CallError('ESTATE', 'the node is stopped');
    if (!this.#checkpoints) throw new CallError('ESTATE', 'the node has no operator key (NodeOptions.operatorKey): it signs no checkpoints', { reason: 'no-operator-key' });
    this.#role('trace');
    return this.#checkpoints.sign();
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
    // The last checkpoint covers every operation, before the trace plugin stops.
    await this.#checkpoints?.stop();
    await this.kernel.stop();
    // Released before the store closes, so another node may run the agents at once (one that
    // cannot be released lapses when the heartbeat expires).
    await this.#leases.stop().catch(() => undefined);
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
    if (!r) {
      // An agent this node gave up (another node took it over) answers why, not "no agent".
      const refused = this.#refused.get(id);
      if (refused) throw new CallError(refused.code, `agent ${refused.name} (${id}) is not run by this node: ${refused.reason}`, { agent: id, ...(refused.holder ? { holder: { ...refused.holder } } : {}) });
      throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(id)} on this node`, { agent: id });
    }
    return r;
  }

  #event(type: AgentEvent['type'], r: AgentRecord, extra: Partial<AgentEvent> = {}): void {
    this.emit('agent', { type, agent: r.id, name: r.name, at: Date.now(), ...extra });
  }

  async #spawn(options: SpawnOptions): Promise<Agent> {
    if (this.#stopped) throw new CallError('ESTATE', 'the node is stopped');
    if ([...this.#live.values(), ...this.#refused.values()].some((r) => r.name === options.name)) {
      throw new UsageError('EUSAGE', `an agent named ${JSON.stringify(options.name)} already exists`, { name: options.name });
    }
    const id = `agent-${randomBytes(8).toString('hex')}`;
    const grants = options.grants ?? this.#agentGrants;
    const beyond = this.#beyondPolicy(grants);
    if (beyond.length > 0) {
      throw new CallError('EPERM', `${beyond.join(', ')} ${beyond.length === 1 ? 'is' : 'are'} beyond what this node allows agents (${this.#allowedText()})`, { grants: beyond, allowed: this.#allowedText() });
    }
    const module = await this.kernel.load(options.module, { name: id, grants: grants.map(parseGrant), isolation: 'worker', config: options.config ?? {}, ...this.#agentCeilings });
    try {
      if (module.manifest.kind !== 'agent') {
        throw new UsageError('EUSAGE', `${module.manifest.name} is a module of kind ${module.manifest.kind}, expected kind "agent"`, { kind: module.manifest.kind });
      }
      // The agent acts for the trusted key that signed its module: the plugin binds it only to an
      // agreement whose consumer is that key, so nobody's agent runs (and is billed) on another's.
      if (options.agreement !== undefined) await this.callRole('agreements', 'bind', { agent: id, agreement: options.agreement, consumer: this.#signer(module).kid });
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
      // A new id: its lease is free (version 0), taken before the record makes the agent visible.
      const got = await this.#leases.acquire(id);
      if ('holder' in got) throw new CallError('EBUSY', `agent ${options.name} (${id}): its lease is held by ${leaseText(got.holder)}`, { agent: id, holder: { ...got.holder } });
      await this.#records.save(record);
      this.#live.set(id, record);
      this.#publishers.set(id, this.#signer(module));
      this.#event('spawned', record);
      return new Agent(id, this.#driver());
    } catch (e) {
      await this.kernel.unload(id).catch(() => undefined);
      // A binding made before a later step failed would be left to an id nobody will ever use.
      if (options.agreement !== undefined && this.hasRole('agreements')) await this.callRole('agreements', 'unbind', { agent: id }).catch(() => undefined);
      await this.#leases.release(id).catch(() => undefined);
      throw e;
    }
  }

  /** The trusted key that verified a module (the kernel checked one exists). */
  #signer(module: LoadedModule): PublicKey {
    const key = this.#trust.find((k) => module.verified.signers.includes(k.kid));
    if (!key) throw new CallError('EINTERNAL', `${module.name}: verified, but by none of the trusted keys (${module.verified.signers.join(', ')})`);
    return key;
  }

  /**
   * Brings a stored agent back only as far as the node trusts it now: the record says which key
   * signed the module and what it was granted, but anyone who can write the store can write a
   * record, so the key must be one this node trusts and the grants within its policy.
   */
  async #bringBack(record: AgentRecord): Promise<void> {
    const refuse = (code: ErrorCode, reason: string) => this.#refuse({ id: record.id, name: record.name, code, reason });
    let kid: string;
    try {
      kid = parsePublicJwk(JSON.parse(record.publisher)).kid;
    } catch (e) {
      return refuse('EINPUT', `its record's publisher is not a public JWK (${(e as Error).message})`);
    }
    let key = this.#trust.find((k) => k.kid === kid);
    try {
      key ??= await this.#publisherKey?.(kid);
    } catch (e) {
      return refuse('EUNTRUSTED', `its module is signed by ${kid}, and looking the key up failed: ${(e as Error).message}`);
    }
    if (key?.kid !== kid) return refuse('EUNTRUSTED', `its module is signed by ${kid}, which this node does not trust (trust the key to bring the agent back)`);
    let beyond: string[];
    try {
      beyond = this.#beyondPolicy(record.grants);
    } catch (e) {
      return refuse('EINPUT', `its record's grants do not parse (${(e as Error).message})`);
    }
    if (beyond.length > 0) return refuse('EPERM', `its record grants ${beyond.join(', ')}, beyond what this node allows agents (${this.#allowedText()})`);
    // One node runs an agent at a time: another node's live lease keeps it there.
    let got: Awaited<ReturnType<NodeLeases['acquire']>>;
    try {
      got = await this.#leases.acquire(record.id);
    } catch (e) {
      return refuse(e instanceof Mcp0Error ? e.code : 'EINTERNAL', `its lease could not be taken: ${(e as Error).message}`);
    }
    if ('holder' in got) return this.#refuse({ id: record.id, name: record.name, code: 'EBUSY', reason: `another node runs it: ${leaseText(got.holder)}`, holder: got.holder });
    this.#publishers.set(record.id, key);
    try {
      await this.#load(record);
    } catch (e) {
      this.#publishers.delete(record.id);
      await this.#leases.release(record.id).catch(() => undefined);
      return refuse(e instanceof Mcp0Error ? e.code : 'EINTERNAL', `its module does not load: ${(e as Error).message}`);
    }
    this.#live.set(record.id, record);
  }

  /**
   * Throws EBUSY when this node no longer holds `id`'s lease (another node took the agent over
   * after this node's heartbeat lapsed): the agent is unloaded here and listed as refused.
   */
  async #holding(id: string): Promise<void> {
    const holder = await this.#leases.check(id);
    if (!holder) return;
    const r = this.#live.get(id);
    const name = r?.name ?? id;
    this.#live.delete(id);
    this.#publishers.delete(id);
    this.#state.discard(id);
    await this.kernel.unload(id).catch(() => undefined);
    const reason = holder.node ? `another node took it over: ${leaseText(holder)}` : `its lease was released by someone else (lease token ${holder.token})`;
    this.#refuse({ id, name, code: 'EBUSY', reason, ...(holder.node ? { holder } : {}) });
    throw new CallError('EBUSY', `agent ${name} (${id}): this node no longer holds its lease: ${reason}`, { agent: id, ...(holder.node ? { holder: { ...holder } } : {}) });
  }

  #refuse(refused: RefusedAgent): void {
    this.#refused.set(refused.id, refused);
    this.emit('agent', { type: 'refused', agent: refused.id, name: refused.name, reason: `${refused.code}: ${refused.reason}`, at: Date.now() });
  }

  /** The grant texts among `grants` that no allowed grant covers (throws EUSAGE on one that does not parse). */
  #beyondPolicy(grants: readonly string[]): string[] {
    return grants.filter((text) => {
      const grant = parseGrant(text);
      return !this.#allowedGrants.some((a) => covers(a, grant));
    });
  }

  #allowedText(): string {
    return `allowed: ${this.#allowedGrants.map(formatGrant).join(', ') || 'nothing'}`;
  }

  async #load(record: AgentRecord): Promise<void> {
    const key = this.#publishers.get(record.id);
    if (!key) throw new CallError('EINTERNAL', `agent ${record.id}: no trusted publisher key recorded`);
    const module = await this.kernel.load(await this.#records.module(record), {
      name: record.id, trust: [key], grants: record.grants.map(parseGrant), isolation: 'worker', config: record.config,
      ...this.#agentCeilings,
    });
    if (record.state === 'paused') module.pause();
  }

  async #execute(id: string, intent: string, input: CborValue): Promise<CborValue> {
    const bytes = encodeCbor(input);
    return this.#serial(id, async () => {
      const r = this.#require(id);
      if (r.state === 'paused') throw new CallError('ESTATE', `agent ${r.name} (${id}) is paused`, { agent: id, state: r.state });
      await this.#holding(id);
      try {
        await this.#state.begin(id);
        const { output } = await this.kernel.execute({ agent: id, intent, input: bytes });
        // Fencing: a node whose lease was taken over meanwhile must not write; and the commit
        // itself lands only on the head version the operation began at (ECONFLICT otherwise).
        if (this.#state.pending(id) > 0) await this.#holding(id);
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
      await this.#holding(id);
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
      await this.#holding(id);
      const out = (await this.callRole('storage', 'snapshot', { agent: id })) as { root: Uint8Array };
      const snap = { id: toHex(out.root), at: Date.now() };
      r.snapshots = [...r.snapshots, snap].slice(-MAX_SNAPSHOTS);
      await this.#records.save(r);
      this.#event('snapshot', r, { snapshot: snap.id });
      return snap;
    });
  }

  /**
   * Restores a root of the agent's own history: a recorded snapshot, a root among its newest 1,000
   * versions (the most the storage role's `history` answers), or the empty state. Any other root
   * (another agent's snapshot, say) would graft foreign state, and through history its blocks, into
   * this agent: EPERM unless `force`.
   */
  async #recover(id: string, snapshotId: string, options: RecoverOptions = {}): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(snapshotId)) throw new UsageError('EUSAGE', `snapshot id: expected 64 hex digits, got ${JSON.stringify(snapshotId)}`);
    return this.#serial(id, async () => {
      const r = this.#require(id);
      await this.#holding(id);
      let ours = r.snapshots.some((s) => s.id === snapshotId) || snapshotId === toHex(EMPTY_TREE_ID);
      if (!ours) {
        const { roots } = (await this.callRole('storage', 'history', { agent: id, limit: 1000 })) as { roots: Uint8Array[] };
        ours = roots.some((root) => toHex(root) === snapshotId);
      }
      if (!ours && options.force !== true) {
        const [stored] = await this.store.blocks.has([Buffer.from(snapshotId, 'hex')]);
        if (!stored) throw new CallError('ENOTFOUND', `agent ${r.name} (${id}): no snapshot ${snapshotId}: it is not in its history, nor in the store`, { agent: id, snapshot: snapshotId });
        throw new CallError('EPERM', `agent ${r.name} (${id}): ${snapshotId} is not in its history (neither a recorded snapshot nor among its newest 1,000 versions); recover with force to restore it anyway`, { agent: id, snapshot: snapshotId, reason: 'not-in-history' });
      }
      await this.callRole('storage', 'restore', { agent: id, root: Buffer.from(snapshotId, 'hex') });
      this.#event('recovered', r, { snapshot: snapshotId, ...(ours ? {} : { reason: 'forced: the root is not in its history' }) });
    });
  }

  async #terminate(id: string): Promise<void> {
    return this.#serial(id, async () => {
      const r = this.#require(id);
      await this.#holding(id);
      await this.kernel.unload(id);
      if (r.agreement !== null && this.hasRole('agreements')) await this.callRole('agreements', 'unbind', { agent: id }).catch(() => undefined);
      await this.#records.remove(id);
      this.#live.delete(id);
      this.#publishers.delete(id);
      await this.#leases.release(id).catch(() => undefined);
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
        // An agent another node took over is not healed here (its state is that node's now).
        await this.#holding(id);
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
      recover: (id, snap, options) => this.#recover(id, snap, options),
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
  readonly #refused: () => RefusedAgent[];
  readonly #driver: AgentDriver;

  /** @internal Made by the node. */
  constructor(spawn: (options: SpawnOptions) => Promise<Agent>, records: () => AgentRecord[], refused: () => RefusedAgent[], driver: AgentDriver) {
    this.#spawn = spawn;
    this.#records = records;
    this.#refused = refused;
    this.#driver = driver;
  }

  /**
   * The stored agents this node did not bring back at start, and why (their records are kept).
   * @example
   * for (const r of node.agents.refused()) console.warn(`${r.name} (${r.id}): ${r.code} ${r.reason}`)
   */
  refused(): RefusedAgent[] {
    return this.#refused();
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
    if (!r) {
      const refused = this.#refused().find((x) => x.id === idOrName || x.name === idOrName);
      if (refused) throw new CallError(refused.code, `agent ${refused.name} (${refused.id}) is stored but was not brought back: ${refused.reason}`, { agent: refused.id });
      throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(idOrName)} on this node`, { agent: idOrName });
    }
    return new Agent(r.id, this.#driver);
  }
}
