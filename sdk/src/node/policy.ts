/**
 * What a node lets agents be: the keys trusted to sign their modules, the grants they get and may
 * get, and the ceilings on their calls. Checked at spawn, and again whenever a stored agent is
 * brought back, because anyone who can write the store can write an agent record.
 */
import { CallError, parseGrant, type Grant, type PublicKey } from '@mcp0/abi';
import type { Ceilings, LoadedModule } from '@mcp0/kernel';
import { covers, formatGrant } from '../distribution/grants.js';
import { DEFAULT_AGENT_CEILINGS, DEFAULT_AGENT_GRANTS, type NodeOptions } from './options.js';

/**
 * A node's policy for agents, from its options.
 * @example
 * const policy = new AgentPolicy({ distribution, store: 'memory:', allowedAgentGrants: ['kv', 'clock'] })
 * policy.beyond(['kv', 'net:example.com']) // ['net:example.com']
 */
export class AgentPolicy {
  /** Grants an agent gets when `spawn` names none. */
  readonly grants: string[];
  /** The most any agent may be granted. */
  readonly allowed: Grant[];
  /** The most memory and time an agent's calls get. */
  readonly ceilings: Ceilings;
  /** Keys trusted to sign modules: the distribution's publishers and the embedder's. */
  readonly trust: PublicKey[];
  /** Asked for a stored agent's publisher key when it is not among `trust`. */
  readonly publisherKey: NodeOptions['publisherKey'];

  constructor(options: NodeOptions) {
    this.grants = options.agentGrants ?? [...DEFAULT_AGENT_GRANTS];
    this.allowed = (options.allowedAgentGrants ?? this.grants).map(parseGrant);
    this.publisherKey = options.publisherKey;
    this.ceilings = { ...DEFAULT_AGENT_CEILINGS, ...options.agentCeilings };
    this.trust = [...options.distribution.publishers, ...(options.trust ?? [])];
  }

  /**
   * The grant texts among `grants` that no allowed grant covers (throws EUSAGE on one that does not parse).
   * @example
   * if (policy.beyond(record.grants).length > 0) refuse('EPERM', policy.allowedText())
   */
  beyond(grants: readonly string[]): string[] {
    return grants.filter((text) => {
      const grant = parseGrant(text);
      return !this.allowed.some((a) => covers(a, grant));
    });
  }

  /**
   * The allowed grants, for messages.
   * @example
   * policy.allowedText() // 'allowed: kv, clock, random'
   */
  allowedText(): string {
    return `allowed: ${this.allowed.map(formatGrant).join(', ') || 'nothing'}`;
  }

  /**
   * The trusted key that verified a module (the kernel checked one exists).
   * @example
   * const consumer = policy.signer(module).kid
   */
  signer(module: LoadedModule): PublicKey {
    const key = this.trust.find((k) => module.verified.signers.includes(k.kid));
    if (!key) throw new CallError('EINTERNAL', `${module.name}: verified, but by none of the trusted keys (${module.verified.signers.join(', ')})`);
    return key;
  }
}
