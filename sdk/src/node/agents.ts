/**
 * `node.agents`: the collection an application holds to spawn agents, list them, find one by id or
 * name, and see the stored agents the node did not bring back.
 */
import { CallError } from '@mcp0/abi';
import { Agent, type AgentDriver } from './agent.js';
import type { RefusedAgent } from './events.js';
import type { SpawnOptions } from './options.js';
import type { AgentRecord } from './records.js';

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
    return this.#records()
      .sort((a, b) => a.created - b.created)
      .map((r) => new Agent(r.id, this.#driver));
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
      if (refused)
        throw new CallError(refused.code, `agent ${refused.name} (${refused.id}) is stored but was not brought back: ${refused.reason}`, { agent: refused.id });
      throw new CallError('ENOTFOUND', `no agent ${JSON.stringify(idOrName)} on this node`, { agent: idOrName });
    }
    return new Agent(r.id, this.#driver);
  }
}
