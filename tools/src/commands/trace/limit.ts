/**
 * The cost limit `mcp0 trace prove` proves a batch against. A limit taken from the batch itself
 * proves nothing (every batch is within its own total), so it comes from the agreement the
 * operations ran under: the agreements plugin binds each agent to an agreement and keeps the
 * signed document (plugins/agreements/README.md, "kv layout", namespace `mcp0.agreements`):
 *   agreements/b/<agent> → CBOR text: the agreement id
 *   agreements/a/<id>    → CBOR {document, revoked, …}, document.quotas.costUnitsPerWindow
 * `--cost-limit` overrides; `--agreement <id>` picks one; otherwise every entry's agent must be
 * bound to the same agreement, and that agreement must set a cost quota. Read only.
 */
import { decodeCbor, Mcp0Error, UsageError, type CborValue } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import type { ChainEntry } from './chain.js';

/** The kv namespace of the agreements plugin. */
export const AGREEMENTS_NAMESPACE = 'mcp0.agreements';
const AGREEMENT_PREFIX = 'agreements/a/';
const BINDING_PREFIX = 'agreements/b/';
const MAX_LIMIT = 2n ** 64n - 1n;

/** A limit and where it came from, for the operator to see. */
export interface CostLimit {
  value: bigint;
  source: string;
}

const isMap = (v: CborValue | undefined): v is { [key: string]: CborValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function decodeAt(bytes: Uint8Array, key: string): CborValue {
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
  const key = AGREEMENT_PREFIX + id;
  const bytes = await kv.get(AGREEMENTS_NAMESPACE, key);
  if (bytes === undefined) {
    throw new UsageError(
      'EUSAGE',
      `no agreement ${JSON.stringify(id)} in the store (${AGREEMENTS_NAMESPACE} ${key}): pass --agreement <a registered id> or --cost-limit <n>`,
      { agreement: id },
    );
  }
  const v = decodeAt(bytes, key);
  if (!isMap(v) || !isMap(v.document)) throw new Mcp0Error('ESTATE', `${AGREEMENTS_NAMESPACE} ${key}: not an agreement record {document, …}`, { key });
  const quotas = v.document.quotas;
  const limit = isMap(quotas) ? quotas.costUnitsPerWindow : undefined;
  if (limit === undefined || limit === null) {
    throw new UsageError('EUSAGE', `agreement ${JSON.stringify(id)} sets no cost quota (quotas.costUnitsPerWindow): pass --cost-limit <n>`, { agreement: id });
  }
  const value =
    typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 0
      ? BigInt(limit)
      : typeof limit === 'bigint' && limit >= 0n && limit <= MAX_LIMIT
        ? limit
        : undefined;
  if (value === undefined) throw new Mcp0Error('ESTATE', `${AGREEMENTS_NAMESPACE} ${key}: quotas.costUnitsPerWindow is not an unsigned integer`, { key });
  return { value, source: `agreement ${id}'s quotas.costUnitsPerWindow (${why})` };
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
    const key = BINDING_PREFIX + agent;
    const bytes = await kv.get(AGREEMENTS_NAMESPACE, key);
    const id = bytes === undefined ? undefined : decodeAt(bytes, key);
    if (id !== undefined && typeof id !== 'string') throw new Mcp0Error('ESTATE', `${AGREEMENTS_NAMESPACE} ${key}: the binding is not CBOR text`, { key });
    if (id === undefined || id === '') {
      const seq = entries.find((e) => e.agent === agent)!.seq;
      throw new UsageError(
        'EUSAGE',
        `no cost limit: entry ${seq}'s agent ${JSON.stringify(agent)} is bound to no agreement (${AGREEMENTS_NAMESPACE} ${key}); pass --cost-limit <n> or --agreement <id>`,
        { agent, seq },
      );
    }
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
