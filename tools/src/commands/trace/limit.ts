/**
 * The cost limit `mcp0 trace prove` proves a batch against. A limit taken from the batch itself
 * proves nothing (every batch is within its own total), so it comes from the agreement the
 * operations ran under, read from the agreements role's public kv layout (abi/ROLES.md): the
 * binding of each entry's agent and the agreement's record, both checked against the role's
 * contract. `--cost-limit` overrides; `--agreement <id>` picks one; otherwise every entry's agent
 * must be bound to the same agreement, and that agreement must set a cost quota. Read only.
 */
import { AGREEMENTS_NAMESPACE, agreementKey, bindingKey, checkRoleRecord, decodeCbor, Mcp0Error, UsageError } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { ChainEntry } from './chain.js';

const MAX_LIMIT = 2n ** 64n - 1n;

/** A limit and where it came from, for the operator to see. */
export interface CostLimit {
  value: bigint;
  source: string;
}

/** The record at `key`, decoded; ESTATE naming it when it is not CBOR. */
async function readRecord(kv: KvProvider, key: string): Promise<unknown> {
  const bytes = await kv.get(AGREEMENTS_NAMESPACE, key);
  if (bytes === undefined) return undefined;
  try {
    return decodeCbor(bytes);
  } catch (e) {
    throw new Mcp0Error('ESTATE', `${AGREEMENTS_NAMESPACE} ${key}: the stored value is not CBOR (${(e as Error).message})`, { key }, { cause: e });
  }
}

/** Parses `--cost-limit`. */
export function parseCostLimit(text: string): bigint {
  if (!/^[0-9]+$/.test(text) || BigInt(text) > MAX_LIMIT)
    throw new UsageError('EUSAGE', `--cost-limit: expected an integer from 0 to 2^64 − 1, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** The agreement `id`'s cost quota; EUSAGE when it is not registered or sets none. */
async function agreementLimit(kv: KvProvider, id: string, why: string): Promise<CostLimit> {
  const key = agreementKey(id);
  const stored = await readRecord(kv, key);
  if (stored === undefined) {
    throw new UsageError(
      'EUSAGE',
      `no agreement ${JSON.stringify(id)} in the store (${AGREEMENTS_NAMESPACE} ${key}): pass --agreement <a registered id> or --cost-limit <n>`,
      { agreement: id },
    );
  }
  const { document } = checkRoleRecord('agreements', 'kv.agreement', stored, `${AGREEMENTS_NAMESPACE} ${key}`);
  const limit = document.quotas.costUnitsPerWindow;
  if (limit === undefined) {
    throw new UsageError('EUSAGE', `agreement ${JSON.stringify(id)} sets no cost quota (quotas.costUnitsPerWindow): pass --cost-limit <n>`, { agreement: id });
  }
  return { value: BigInt(limit), source: `agreement ${id}'s quotas.costUnitsPerWindow (${why})` };
}

/**
 * The limit for a batch: `--cost-limit`, else `--agreement`'s quota, else the quota of the one
 * agreement every entry's agent is bound to. EUSAGE, saying what to pass, when none applies.
 * @example
 * const { value, source } = await costLimitFor(store.kv, entries, { agreement: 'agr-1' })
 */
export async function costLimitFor(kv: KvProvider, entries: readonly ChainEntry[], given: { costLimit?: string; agreement?: string }): Promise<CostLimit> {
  if (given.costLimit !== undefined) return { value: parseCostLimit(given.costLimit), source: '--cost-limit' };
  if (given.agreement !== undefined) return agreementLimit(kv, given.agreement, 'given with --agreement');
  const byAgreement = new Map<string, string[]>();
  const agents = [...new Set(entries.map((e) => e.agent))];
  for (const agent of agents) {
    const key = bindingKey(agent);
    const stored = await readRecord(kv, key);
    if (stored === undefined) {
      const seq = entries.find((e) => e.agent === agent)!.seq;
      throw new UsageError(
        'EUSAGE',
        `no cost limit: entry ${seq}'s agent ${JSON.stringify(agent)} is bound to no agreement (${AGREEMENTS_NAMESPACE} ${key}); pass --cost-limit <n> or --agreement <id>`,
        { agent, seq },
      );
    }
    const id = checkRoleRecord('agreements', 'kv.binding', stored, `${AGREEMENTS_NAMESPACE} ${key}`);
    byAgreement.set(id, [...(byAgreement.get(id) ?? []), agent]);
  }
  if (byAgreement.size > 1) {
    const list = [...byAgreement].map(([id, a]) => `${id} (${a.join(', ')})`).join(', ');
    throw new UsageError('EUSAGE', `no cost limit: the batch's agents are bound to different agreements: ${list}; pass --agreement <id> or --cost-limit <n>`, {
      agreements: [...byAgreement.keys()],
    });
  }
  const [id] = [...byAgreement.keys()];
  return agreementLimit(kv, id!, `every entry's agent is bound to it`);
}
