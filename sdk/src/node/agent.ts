/**
 * The `Agent` handle an application holds: it runs operations through the node's pipeline and
 * drives the agent's lifecycle. All the work happens in the node; the handle only names the agent.
 */
import type { CborValue } from '@mcp0/abi';
import type { AgentRecord, SnapshotRecord } from './records.js';

/**
 * What an agent handle asks of its node.
 * @example
 * const agent = new Agent('agent-1', driver) // how a node hands out handles; applications use node.agents
 */
export interface AgentDriver {
  record(id: string): AgentRecord | undefined;
  execute(id: string, intent: string, input: CborValue, options?: ExecuteOptions): Promise<CborValue>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  snapshot(id: string): Promise<SnapshotRecord>;
  recover(id: string, snapshotId: string, options?: RecoverOptions): Promise<void>;
  terminate(id: string): Promise<void>;
  stateRoot(id: string): Promise<string>;
}

/**
 * `agent.execute` options.
 * @example
 * await agent.execute('remember', { text: 'hi' }, { deadline: Date.now() + 50 } satisfies ExecuteOptions)
 */
export interface ExecuteOptions {
  /**
   * Wall-clock ms since the epoch (`Date.now()`) after which the operation must not begin: while it
   * still waits (for the agent's earlier operations, a hook, a module its export calls) it is
   * dropped and rejects ETIMEOUT. One that began runs to its end.
   */
  deadline?: number;
  /** Aborting it cuts the operation like a passed deadline. */
  signal?: AbortSignal;
  /**
   * Told of each `emit` the agent makes while this operation runs (its progress, say; the agent
   * needs the `emit` grant). A listener that throws is ignored: it cannot fail the operation.
   */
  onEmit?: (topic: string, data: CborValue) => void;
  /**
   * What caused the operation, exactly 32 bytes (else EUSAGE): for one run for a signed rpc
   * request, the SHA-256 of its envelope (`envelopeHash`). Every hook gets it (ABI 1.2 `op.cause`)
   * and the trace records it in the operation's entry, so the caller can later show that this node
   * ran its request.
   */
  cause?: Uint8Array;
}

/**
 * `agent.recover` options.
 * @example
 * await agent.recover(rootFromAnArchive, { force: true } satisfies RecoverOptions)
 */
export interface RecoverOptions {
  /**
   * Restore a root that is not in this agent's history (neither one of its recorded snapshots nor
   * among the newest 1,000 versions of its storage history): another agent's snapshot, say, whose
   * blocks then become part of this agent's state and of what its exports carry. Default false:
   * such a root is refused with EPERM.
   */
  force?: boolean;
}

/**
 * An agent's lifecycle state as the application sees it.
 * @example
 * if (agent.state === 'paused') await agent.resume()
 */
export type AgentStatus = 'running' | 'paused' | 'terminated';

/**
 * One agent on a node.
 * @example
 * const agent = await node.agents.spawn({ module: bytes, name: 'notes' })
 * await agent.execute('remember', { text: 'buy milk' })
 * const snap = await agent.snapshot()
 * await agent.recover(snap.id)
 */
export class Agent {
  readonly id: string;
  readonly #driver: AgentDriver;

  constructor(id: string, driver: AgentDriver) {
    this.id = id;
    this.#driver = driver;
  }

  /**
   * The name given at spawn.
   * @example
   * agent.name // 'notes'
   */
  get name(): string {
    return this.#record()?.name ?? '';
  }

  /**
   * The agent's lifecycle state; `terminated` once the node no longer knows it.
   * @example
   * await agent.pause(); agent.state // 'paused'
   */
  get state(): AgentStatus {
    return this.#record()?.state ?? 'terminated';
  }

  /**
   * The agreement the agent runs under, or null.
   * @example
   * agent.agreement // 'agr-1', or null when spawned without one
   */
  get agreement(): string | null {
    return this.#record()?.agreement ?? null;
  }

  /**
   * The module's manifest name and version.
   * @example
   * const { name, version } = agent.module
   */
  get module(): { name: string; version: string } {
    const m = this.#record()?.module;
    return { name: m?.name ?? '', version: m?.version ?? '' };
  }

  /**
   * The snapshots taken through the node, oldest first.
   * @example
   * const last = agent.snapshots.at(-1)?.id
   */
  get snapshots(): readonly SnapshotRecord[] {
    return this.#record()?.snapshots ?? [];
  }

  /**
   * Runs one operation: the admit hooks, the agent's export `intent` with `input` (CBOR), the
   * observe hooks; the agent's writes land together when it succeeds. Errors from every layer
   * arrive as they were raised: EDENIED with the hook's reason, EPERM, ETIMEOUT, EMEMORY, ...
   * A deadline or a signal in `options` stops an operation that has not begun (ETIMEOUT).
   * `options.cause` names what caused the operation (an rpc envelope's hash), recorded by the trace.
   * @example
   * const { id } = await agent.execute('remember', { text: 'hello' }) as { id: number }
   * await agent.execute('remember', { text: 'from afar' }, { cause: envelopeHash(envelope) })
   */
  execute(intent: string, input: CborValue = {}, options?: ExecuteOptions): Promise<CborValue> {
    return this.#driver.execute(this.id, intent, input, options);
  }

  /**
   * Stops admitting operations until `resume` (ESTATE meanwhile); survives a node restart.
   * @example
   * await agent.pause() // agent.execute(...) now rejects with ESTATE
   */
  pause(): Promise<void> {
    return this.#driver.pause(this.id);
  }

  /**
   * Admits operations again after `pause`.
   * @example
   * await agent.resume()
   */
  resume(): Promise<void> {
    return this.#driver.resume(this.id);
  }

  /**
   * Records the current state root as a snapshot; its id is the root (hex).
   * @example
   * const { id, at } = await agent.snapshot()
   */
  snapshot(): Promise<SnapshotRecord> {
    return this.#driver.snapshot(this.id);
  }

  /**
   * Moves the agent's state back to a snapshot (a new version: history keeps what came between).
   * The snapshot must be this agent's: one of its recorded snapshots or a root among the newest
   * 1,000 versions of its history; any other root is EPERM unless `{force: true}`.
   * @example
   * await agent.recover(snap.id)
   */
  recover(snapshotId: string, options: RecoverOptions = {}): Promise<void> {
    return this.#driver.recover(this.id, snapshotId, options);
  }

  /**
   * Unloads the agent and forgets it; its state blocks stay until the storage plugin's gc.
   * @example
   * await agent.terminate() // agent.state is now 'terminated'
   */
  terminate(): Promise<void> {
    return this.#driver.terminate(this.id);
  }

  /**
   * The current state root (hex).
   * @example
   * (await agent.stateRoot()) === snap.id // true until the next write
   */
  stateRoot(): Promise<string> {
    return this.#driver.stateRoot(this.id);
  }

  #record(): AgentRecord | undefined {
    return this.#driver.record(this.id);
  }
}
