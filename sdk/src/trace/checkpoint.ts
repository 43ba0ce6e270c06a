/**
 * Signed trace checkpoints: the node's operator key vouches for the trace head `{seq, head, time}`,
 * as a Certificate Transparency log signs its tree head. A checkpoint is a signed statement
 * (`@mcp0/abi` signStatement) of type `mcp0.trace-checkpoint/1`, so anyone holding the operator's
 * public key can check a batch proof against it with no access to the node's store
 * (`verifyTraceProof`). The node keeps the checkpoints it signed in its own kv namespace, as the
 * JSON text it signed, so an export is byte for byte what the node wrote.
 */
import { LIMITS, Mcp0Error, parseJson, signStatement, verifyStatement, type PrivateKey, type PublicKey, type SignedStatement } from '@mcp0/abi';
import type { KvProvider } from '@mcp0/kernel';
import { NODE_NAMESPACE } from '../node/records.js';
import { BN254_FIELD } from '../zk/trace-batch.js';

/**
 * The statement type of a trace checkpoint (inside the signed bytes: a signature made for another
 * kind of statement can never pass as a checkpoint).
 * @example
 * verifyStatement(value, CHECKPOINT_TYPE, [operatorKey])
 */
export const CHECKPOINT_TYPE = 'mcp0.trace-checkpoint/1';

/**
 * What a checkpoint says: the chain's last entry `seq`, the head after it, and when it was signed.
 * @example
 * const body: CheckpointBody = { seq: 41, head: '1234…', time: Date.now() }
 */
export interface CheckpointBody {
  /** The seq of the chain's last entry (entries are counted from 0). */
  seq: number;
  /** The head after entry `seq`: a BN254 field element as a canonical decimal string. */
  head: string;
  /** When the head was signed, ms since the epoch. */
  time: number;
}

/**
 * A signed trace checkpoint, as stored and exported (JSON).
 * @example
 * const cp: TraceCheckpoint = await node.checkpoint() // { type, seq: 41, head: '1234…', time, signer: 'kPrK…', sig: '…' }
 */
export interface TraceCheckpoint extends CheckpointBody {
  type: typeof CHECKPOINT_TYPE;
  /** The operator key's id (RFC 7638 thumbprint). */
  signer: string;
  /** Ed25519 over the canonical JSON of every other member, base64url. */
  sig: string;
}

/**
 * A checkpoint that is not one (`EINPUT`, naming the member), or a stored one that does not read
 * (`ESTATE`). Signature failures are the abi's `StatementError` (`ESIGNATURE`).
 * @example
 * try { parseCheckpoint(value) } catch (e) { if (e instanceof CheckpointError) console.error(e.message) }
 */
export class CheckpointError extends Mcp0Error {}

const MEMBERS = ['type', 'seq', 'head', 'time', 'signer', 'sig'] as const;
const FIELD = /^(0|[1-9][0-9]*)$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)
    : Array.isArray(v)
      ? 'an array'
      : v === null
        ? 'null'
        : typeof v === 'object'
          ? 'an object'
          : String(v);

/** Checks the body's members; `what` prefixes messages. */
function checkBody(v: Record<string, unknown>, what: string): CheckpointBody {
  const { seq, head, time } = v;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new CheckpointError('EINPUT', `${what}: seq: expected an integer from 0 to 2^53 − 1, got ${describe(seq)}`, { member: 'seq' });
  }
  if (typeof head !== 'string' || !FIELD.test(head) || BigInt(head) >= BN254_FIELD) {
    throw new CheckpointError('EINPUT', `${what}: head: expected a BN254 field element as a canonical decimal string, got ${describe(head)}`, {
      member: 'head',
    });
  }
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
    throw new CheckpointError('EINPUT', `${what}: time: expected ms since the epoch (an integer ≥ 0), got ${describe(time)}`, { member: 'time' });
  }
  return { seq, head, time };
}

/**
 * Checks that `value` has the shape of a checkpoint (exactly type, seq, head, time, signer, sig),
 * without checking its signature: for reading stored ones and exporting them. Anything that
 * vouches for a head must use `verifyCheckpoint`.
 * @example
 * const cp = parseCheckpoint(parseJson(await readFile('head.json', 'utf8')))
 */
export function parseCheckpoint(value: unknown, what = 'checkpoint'): TraceCheckpoint {
  if (!isObject(value)) throw new CheckpointError('EINPUT', `${what}: expected a ${CHECKPOINT_TYPE} statement (a JSON object), got ${describe(value)}`);
  if (value.type !== CHECKPOINT_TYPE)
    throw new CheckpointError('EINPUT', `${what}: type: expected ${JSON.stringify(CHECKPOINT_TYPE)}, got ${describe(value.type)}`, { member: 'type' });
  const extra = Object.keys(value).filter((k) => !(MEMBERS as readonly string[]).includes(k));
  if (extra.length > 0) {
    throw new CheckpointError(
      'EINPUT',
      `${what}: unexpected member${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}: expected exactly ${MEMBERS.join(', ')}`,
      { members: extra },
    );
  }
  const body = checkBody(value, what);
  if (typeof value.signer !== 'string' || typeof value.sig !== 'string') {
    throw new CheckpointError(
      'EINPUT',
      `${what}: expected string members signer and sig (a signed statement), got signer ${describe(value.signer)}, sig ${describe(value.sig)}`,
    );
  }
  return { type: CHECKPOINT_TYPE, ...body, signer: value.signer, sig: value.sig };
}

/**
 * Signs the head `body` with the operator key.
 * @example
 * const cp = signCheckpoint({ seq: head.seq, head: head.head, time: Date.now() }, operatorKey)
 */
export function signCheckpoint(body: CheckpointBody, key: PrivateKey): TraceCheckpoint {
  const { seq, head, time } = checkBody(body as unknown as Record<string, unknown>, 'checkpoint');
  return signStatement(CHECKPOINT_TYPE, { seq, head, time }, key) as unknown as TraceCheckpoint;
}

/**
 * Verifies a checkpoint: a `mcp0.trace-checkpoint/1` statement signed by one of `trust` (the
 * signature first, so a forged or re-signed one is named as such), then its shape. Throws the
 * abi's `StatementError` (ESIGNATURE: another type, an untrusted signer named with the trusted
 * ids, a member changed after signing) or `CheckpointError` (EINPUT).
 * @example
 * const { checkpoint, key } = verifyCheckpoint(parseJson(text), [operatorPublicKey])
 */
export function verifyCheckpoint(value: unknown, trust: readonly PublicKey[]): { checkpoint: TraceCheckpoint; key: PublicKey } {
  const { statement, key } = verifyStatement(value, CHECKPOINT_TYPE, trust);
  return { checkpoint: parseCheckpoint(statement as SignedStatement), key };
}

/**
 * The key prefix of stored checkpoints in the node's kv namespace (`mcp0.node`).
 * @example
 * await store.kv.scan(NODE_NAMESPACE, CHECKPOINT_PREFIX, 100)
 */
export const CHECKPOINT_PREFIX = 'checkpoint/';
/**
 * The key of the newest checkpoint's copy (outside the prefix, so scans see each seq once): kv
 * has no reverse scan, and the newest is what an export wants by default.
 * @example
 * await store.kv.get(NODE_NAMESPACE, LATEST_CHECKPOINT_KEY)
 */
export const LATEST_CHECKPOINT_KEY = 'checkpoint-latest';

/**
 * The key of the checkpoint of `seq` (20 digits, so key order is seq order).
 * @example
 * checkpointKey(41) // 'checkpoint/00000000000000000041'
 */
export const checkpointKey = (seq: number): string => `${CHECKPOINT_PREFIX}${String(seq).padStart(20, '0')}`;

/**
 * The checkpoints a node signed, in its kv namespace: one per seq (a later signature of the same
 * head replaces the earlier: it is the fresher attestation), plus a copy of the newest. All are
 * kept: a checkpoint is the only thing that lets a proof ending at its seq be checked without the
 * store, the node signs at most one per interval and per trace entry, so they never outgrow the
 * trace itself (which is kept whole), and at the default minute a busy node adds ~0.4 MB a day.
 * @example
 * const log = new CheckpointLog(store.kv)
 * const newest = await log.latest()
 */
export class CheckpointLog {
  readonly #kv: KvProvider;

  constructor(kv: KvProvider) {
    this.#kv = kv;
  }

  /**
   * Stores `checkpoint` under its seq, then as the newest.
   * @example
   * await log.put(signCheckpoint({ seq, head, time: Date.now() }, key))
   */
  async put(checkpoint: TraceCheckpoint): Promise<void> {
    const bytes = new TextEncoder().encode(JSON.stringify(checkpoint));
    await this.#kv.put(NODE_NAMESPACE, checkpointKey(checkpoint.seq), bytes);
    await this.#kv.put(NODE_NAMESPACE, LATEST_CHECKPOINT_KEY, bytes);
  }

  /**
   * The newest stored checkpoint, or undefined.
   * @example
   * const cp = await log.latest()
   */
  async latest(): Promise<TraceCheckpoint | undefined> {
    return this.#read(LATEST_CHECKPOINT_KEY);
  }

  /**
   * The stored checkpoint of `seq`, or undefined.
   * @example
   * const cp = await log.get(41)
   */
  async get(seq: number): Promise<TraceCheckpoint | undefined> {
    return this.#read(checkpointKey(seq));
  }

  /**
   * The first stored checkpoint after `seq`, or undefined (to say which seqs have one).
   * @example
   * const next = await log.after(40) // the checkpoint of 41, if there is one
   */
  async after(seq: number): Promise<TraceCheckpoint | undefined> {
    const [first] = await this.#kv.scan(NODE_NAMESPACE, CHECKPOINT_PREFIX, 1, checkpointKey(seq));
    return first === undefined ? undefined : this.#parse(first[0], first[1]);
  }

  /**
   * Every stored checkpoint, oldest first, paged through kv.
   * @example
   * for await (const cp of log.all()) console.log(cp.seq)
   */
  async *all(): AsyncGenerator<TraceCheckpoint> {
    let after: string | undefined;
    for (;;) {
      const page = await this.#kv.scan(NODE_NAMESPACE, CHECKPOINT_PREFIX, LIMITS.kvScanEntries, after);
      for (const [key, value] of page) yield this.#parse(key, value);
      if (page.length < LIMITS.kvScanEntries) return;
      after = page[page.length - 1]![0];
    }
  }

  async #read(key: string): Promise<TraceCheckpoint | undefined> {
    const bytes = await this.#kv.get(NODE_NAMESPACE, key);
    return bytes === undefined ? undefined : this.#parse(key, bytes);
  }

  #parse(key: string, bytes: Uint8Array): TraceCheckpoint {
    const where = `${NODE_NAMESPACE} ${key}`;
    try {
      return parseCheckpoint(parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes)), where);
    } catch (e) {
      throw new CheckpointError('ESTATE', `${where} is not a stored checkpoint: ${(e as Error).message}`, { key }, { cause: e });
    }
  }
}
