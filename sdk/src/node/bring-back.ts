/**
 * Bringing back, at start, the agents an earlier run stored. A record says which key signed the
 * module and what it was granted, but anyone who can write the store can write a record, so an
 * agent comes back only as far as the node trusts it now; otherwise it is listed as refused, with
 * its record left untouched.
 */
import { Mcp0Error, parsePublicJwk, type ErrorCode } from '@mcp0/abi';
import type { AgentHost } from './host.js';
import { leaseText, type NodeLeases } from './lease.js';
import type { AgentRecord } from './records.js';

/**
 * Brings a stored agent back only as far as the node trusts it now: the key must be one this node
 * trusts (or `publisherKey` finds), the grants within its policy, the lease free, and the module
 * must load. A refusal is listed in `host.refused` (and emitted), not thrown.
 * @example
 * for (const record of stored.records) await bringBack(host, record)
 */
export async function bringBack(host: AgentHost, record: AgentRecord): Promise<void> {
  const refuse = (code: ErrorCode, reason: string) => host.refuse({ id: record.id, name: record.name, code, reason });
  const { policy } = host;
  let kid: string;
  try {
    kid = parsePublicJwk(JSON.parse(record.publisher)).kid;
  } catch (e) {
    return refuse('EINPUT', `its record's publisher is not a public JWK (${(e as Error).message})`);
  }
  let key = policy.trust.find((k) => k.kid === kid);
  try {
    key ??= await policy.publisherKey?.(kid);
  } catch (e) {
    return refuse('EUNTRUSTED', `its module is signed by ${kid}, and looking the key up failed: ${(e as Error).message}`);
  }
  if (key?.kid !== kid) return refuse('EUNTRUSTED', `its module is signed by ${kid}, which this node does not trust (trust the key to bring the agent back)`);
  let beyond: string[];
  try {
    beyond = policy.beyond(record.grants);
  } catch (e) {
    return refuse('EINPUT', `its record's grants do not parse (${(e as Error).message})`);
  }
  if (beyond.length > 0) return refuse('EPERM', `its record grants ${beyond.join(', ')}, beyond what this node allows agents (${policy.allowedText()})`);
  // One node runs an agent at a time: another node's live lease keeps it there.
  let got: Awaited<ReturnType<NodeLeases['acquire']>>;
  try {
    got = await host.leases.acquire(record.id);
  } catch (e) {
    return refuse(e instanceof Mcp0Error ? e.code : 'EINTERNAL', `its lease could not be taken: ${(e as Error).message}`);
  }
  if ('holder' in got)
    return host.refuse({ id: record.id, name: record.name, code: 'EBUSY', reason: `another node runs it: ${leaseText(got.holder)}`, holder: got.holder });
  host.publishers.set(record.id, key);
  try {
    await host.load(record);
  } catch (e) {
    host.publishers.delete(record.id);
    await host.leases.release(record.id).catch(() => undefined);
    return refuse(e instanceof Mcp0Error ? e.code : 'EINTERNAL', `its module does not load: ${(e as Error).message}`);
  }
  host.live.set(record.id, record);
}
