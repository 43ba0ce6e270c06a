/**
 * The cost limit a batch of stored trace entries is proved against. A limit taken from the batch
 * itself proves nothing (every batch is within its own total), so it comes from the agreement the
 * operations ran under, read from the agreements role's public kv layout (abi/ROLES.md): the
 * binding of each entry's agent and the agreement's record, both checked against the role's
 * contract. A given limit overrides; a given agreement picks one; otherwise every entry's agent must
 * be bound to the same agreement, and that agreement must set a cost quota. Read only.
 */
import { AGREEMENTS_NAMESPACE, agreementKey, bindingKey, checkRoleRecord, decodeCbor, Mcp0Error, UsageError } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { TraceChainEntry } from './chain.js';

const MAX_LIMIT = 2n ** 64n - 1n;

/**
 * How messages name the inputs of proving a range, so that each caller reads its own words: the
 * CLI's flags (`--cost-limit`), the gRPC payload's members (`costLimit`, the default).
 * @example
 * const names: TraceProveNames = { from: '--from', to: '--to', costLimit: '--cost-limit', agreement: '--agreement' }
 */
export interface TraceProveNames {
  from: string;
  to: string;
  costLimit: string;
  agreement: string;
}

/**
 * The default names: the members of `ProveTraceRangeOptions` and of the TraceProof payload.
 * @example
 * await traceCostLimit(kv, entries, { agreement: 'agr-1' }, TRACE_PROVE_NAMES)
 */
export const TRACE_PROVE_NAMES: Readonly<TraceProveNames> = Object.freeze({ from: 'from', to: 'to', costLimit: 'costLimit', agreement: 'agreement' });

/**
 * A limit and where it came from, for the operator to see.
 * @example
 * const { value, source }: TraceCostLimit = await traceCostLimit(store.kv, entries, {})
 */
export interface TraceCostLimit {
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

/**
 * A cost limit given as text (decimal), a number or a bigint, checked to be an integer from 0 to
 * 2^64 − 1 (what the circuit takes); EUSAGE naming the input otherwise.
 * @example
 * parseCostLimit('100000') // 100000n
 */
export function parseCostLimit(given: string | number | bigint, names: Readonly<TraceProveNames> = TRACE_PROVE_NAMES): bigint {
  const text = typeof given === 'bigint' ? given.toString() : typeof given === 'number' && Number.isSafeInteger(given) ? String(given) : given;
  if (typeof text !== 'string' || !/^[0-9]+$/.test(text) || BigInt(text) > MAX_LIMIT)
    throw new UsageError(
      'EUSAGE',
      `${names.costLimit}: expected an integer from 0 to 2^64 − 1, got ${JSON.stringify(typeof given === 'bigint' ? text : given)}`,
    );
  return BigInt(text);
}

/** The agreement `id`'s cost quota; EUSAGE when it is not registered or sets none. */
async function agreementLimit(kv: KvProvider, id: string, why: string, names: Readonly<TraceProveNames>): Promise<TraceCostLimit> {
  const key = agreementKey(id);
  const stored = await readRecord(kv, key);
  if (stored === undefined) {
    throw new UsageError(
      'EUSAGE',
      `no agreement ${JSON.stringify(id)} in the store (${AGREEMENTS_NAMESPACE} ${key}): pass ${names.agreement} <a registered id> or ${names.costLimit} <n>`,
      { agreement: id },
    );
  }
  const { document } = checkRoleRecord('agreements', 'kv.agreement', stored, `${AGREEMENTS_NAMESPACE} ${key}`);
  const limit = document.quotas.costUnitsPerWindow;
  if (limit === undefined) {
    throw new UsageError('EUSAGE', `agreement ${JSON.stringify(id)} sets no cost quota (quotas.costUnitsPerWindow): pass ${names.costLimit} <n>`, {
      agreement: id,
    });
  }
  return { value: BigInt(limit), source: `agreement ${id}'s quotas.costUnitsPerWindow (${why})` };
}

/**
 * The limit for a batch of entries: `given.costLimit`, else `given.agreement`'s quota, else the
 * quota of the one agreement every entry's agent is bound to. EUSAGE, saying what to pass (in
 * `names`' words), when none applies; ESTATE when a record breaks the agreements role's contract.
 * @example
 * const { value, source } = await traceCostLimit(store.kv, entries, { agreement: 'agr-1' })
 */
export async function traceCostLimit(
  kv: KvProvider,
  entries: readonly Pick<TraceChainEntry, 'seq' | 'agent'>[],
  given: { costLimit?: string | number | bigint; agreement?: string },
  names: Readonly<TraceProveNames> = TRACE_PROVE_NAMES,
): Promise<TraceCostLimit> {
  if (given.costLimit !== undefined) return { value: parseCostLimit(given.costLimit, names), source: names.costLimit };
  if (given.agreement !== undefined) return agreementLimit(kv, given.agreement, `given with ${names.agreement}`, names);
  const byAgreement = new Map<string, string[]>();
  const agents = [...new Set(entries.map((e) => e.agent))];
  for (const agent of agents) {
    const key = bindingKey(agent);
    const stored = await readRecord(kv, key);
    if (stored === undefined) {
      const seq = entries.find((e) => e.agent === agent)!.seq;
      throw new UsageError(
        'EUSAGE',
        `no cost limit: entry ${seq}'s agent ${JSON.stringify(agent)} is bound to no agreement (${AGREEMENTS_NAMESPACE} ${key}); pass ${names.costLimit} <n> or ${names.agreement} <id>`,
        { agent, seq },
      );
    }
    const id = checkRoleRecord('agreements', 'kv.binding', stored, `${AGREEMENTS_NAMESPACE} ${key}`);
    byAgreement.set(id, [...(byAgreement.get(id) ?? []), agent]);
  }
  if (byAgreement.size > 1) {
    const list = [...byAgreement].map(([id, a]) => `${id} (${a.join(', ')})`).join(', ');
    throw new UsageError(
      'EUSAGE',
      `no cost limit: the batch's agents are bound to different agreements: ${list}; pass ${names.agreement} <id> or ${names.costLimit} <n>`,
      { agreements: [...byAgreement.keys()] },
    );
  }
  const [id] = [...byAgreement.keys()];
  return agreementLimit(kv, id!, `every entry's agent is bound to it`, names);
}
