/**
 * What a node is started with and what it spawns agents from: `NodeOptions`, the distribution as
 * the node runs it, `SpawnOptions`, and the defaults an agent gets when the embedder says nothing.
 */
import type { CborValue, Grant, PrivateKey, PublicKey } from '@mcp0/abi';
import { DEFAULT_CEILINGS, type Ceilings, type ClockProvider, type Pipeline, type RestartPolicy, type Tier } from '@mcp0/kernel';
import type { Store } from '../store/index.js';
import type { LeaseOptions } from './lease.js';

/**
 * A distribution as the node runs it: verified plugins in load order, and the pipeline.
 * @example
 * const distribution: NodeDistribution = await loadDistribution('distributions/standard/build', { trust: [assemblerKey] })
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

/**
 * An agent's ceilings unless the node is told otherwise: 16 MiB of memory, 5 s per call, the kernel's table cap.
 * @example
 * await Node.start({ distribution, store: 'memory:', agentCeilings: { ...DEFAULT_AGENT_CEILINGS, timeoutMs: 10_000 } })
 */
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
 * Grants an agent gets when `spawn` names none (NodeOptions.agentGrants overrides them).
 * @example
 * const grants = options.agentGrants ?? DEFAULT_AGENT_GRANTS // ['kv', 'clock', 'random']
 */
export const DEFAULT_AGENT_GRANTS: readonly string[] = ['kv', 'clock', 'random'];
