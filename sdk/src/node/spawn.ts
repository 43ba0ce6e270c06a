/**
 * Spawning an agent: its module is loaded in the worker tier under a new id within the node's
 * policy, bound to its agreement, its lease taken and its record saved, so it survives restarts.
 * A step that fails undoes the ones before it.
 */
import { randomBytes } from 'node:crypto';
import { CallError, UsageError, parseGrant, toPublicJwk } from '@mcp0/abi';
import { Agent, type AgentDriver } from './agent.js';
import type { AgentHost } from './host.js';
import { leaseText } from './lease.js';
import type { SpawnOptions } from './options.js';
import type { AgentRecord } from './records.js';

/**
 * Spawns an agent on the node (what `node.agents.spawn` does); its handle uses `driver`.
 * @example
 * const agent = await spawnAgent(host, agentDriver(host), { module: signedWasm, name: 'notes' })
 */
export async function spawnAgent(host: AgentHost, driver: AgentDriver, options: SpawnOptions): Promise<Agent> {
  if (host.stopped) throw new CallError('ESTATE', 'the node is stopped');
  if ([...host.live.values(), ...host.refused.values()].some((r) => r.name === options.name)) {
    throw new UsageError('EUSAGE', `an agent named ${JSON.stringify(options.name)} already exists`, { name: options.name });
  }
  const id = `agent-${randomBytes(8).toString('hex')}`;
  const { policy } = host;
  const grants = options.grants ?? policy.grants;
  const beyond = policy.beyond(grants);
  if (beyond.length > 0) {
    throw new CallError('EPERM', `${beyond.join(', ')} ${beyond.length === 1 ? 'is' : 'are'} beyond what this node allows agents (${policy.allowedText()})`, {
      grants: beyond,
      allowed: policy.allowedText(),
    });
  }
  const module = await host.kernel.load(options.module, {
    name: id,
    grants: grants.map(parseGrant),
    isolation: 'worker',
    config: options.config ?? {},
    ...policy.ceilings,
  });
  try {
    if (module.manifest.kind !== 'agent') {
      throw new UsageError('EUSAGE', `${module.manifest.name} is a module of kind ${module.manifest.kind}, expected kind "agent"`, {
        kind: module.manifest.kind,
      });
    }
    // The agent acts for the trusted key that signed its module: the plugin binds it only to an
    // agreement whose consumer is that key, so nobody's agent runs (and is billed) on another's.
    if (options.agreement !== undefined) await host.roles.agreements.bind({ agent: id, agreement: options.agreement, consumer: policy.signer(module).kid });
    const record: AgentRecord = {
      id,
      name: options.name,
      module: { name: module.manifest.name, version: module.manifest.version, blocks: await host.records.putModule(options.module) },
      publisher: JSON.stringify(toPublicJwk(policy.signer(module))),
      grants: [...grants],
      config: options.config ?? {},
      agreement: options.agreement ?? null,
      state: 'running',
      created: Date.now(),
      snapshots: [],
    };
    // A new id: its lease is free (version 0), taken before the record makes the agent visible.
    const got = await host.leases.acquire(id);
    if ('holder' in got)
      throw new CallError('EBUSY', `agent ${options.name} (${id}): its lease is held by ${leaseText(got.holder)}`, { agent: id, holder: { ...got.holder } });
    await host.records.save(record);
    host.live.set(id, record);
    host.publishers.set(id, policy.signer(module));
    host.event('spawned', record);
    return new Agent(id, driver);
  } catch (e) {
    await host.kernel.unload(id).catch(() => undefined);
    // A binding made before a later step failed would be left to an id nobody will ever use.
    if (options.agreement !== undefined && host.hasRole('agreements')) await host.roles.agreements.unbind({ agent: id }).catch(() => undefined);
    await host.leases.release(id).catch(() => undefined);
    throw e;
  }
}
