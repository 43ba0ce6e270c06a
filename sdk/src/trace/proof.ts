/**
 * Batch proofs bound to a chain. A Groth16 batch proof alone says only that *some* chain of
 * `count` events leads from `prevRoot` to `newRoot` within `costLimit`: anyone can prove invented
 * events from a real head, and the file's `from`/`to` are not covered by the proof at all. What
 * ties a proof to a node's trace is its end: when `newRoot` is a head the node vouches for (a
 * signed checkpoint, or the node's own store), Poseidon's collision resistance pins every event of
 * the batch and `prevRoot` to the real chain, and the entries it covers follow from that head's
 * seq and the proven `count`, never from the file's word.
 */
import { Mcp0Error, type PublicKey } from '@mcp0/abi';
import { TRACE_BATCH_N, TRACE_BATCH_PUBLIC_SIGNALS, verifyBatch, type Groth16Proof, type VerificationKey } from '../zk/trace-batch.js';
import type { TraceChainView } from './chain.js';
import { verifyCheckpoint, type TraceCheckpoint } from './checkpoint.js';

/**
 * A proof file as `mcp0 trace prove` writes it. `from`, `to` and `batchSize` are labels: the
 * proof does not cover them, so `verifyTraceProof` checks them against what it proves.
 * @example
 * const file: TraceProofFile = parseTraceProofFile(parseJson(await readFile('proof.json', 'utf8')))
 */
export interface TraceProofFile {
  proof: Groth16Proof;
  /** Decimal strings `[newRoot, totalCost, count, prevRoot, costLimit]`. */
  publicSignals: string[];
  from: number;
  to: number;
  batchSize: number;
}

/**
 * A proof that does not verify or does not match its binding (`ESIGNATURE`, with
 * `details.reason`: `pairing`, `batch-size`, `count`, `new-root`, `prev-root`, `range`,
 * `past-head`), or a proof file that is not one (`EINPUT`). Messages name expected and got.
 * @example
 * try { await verifyTraceProof(file, binding) } catch (e) { if (e instanceof TraceProofError) console.error(e.details.reason, e.message) }
 */
export class TraceProofError extends Mcp0Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Checks the shape of a proof file (not the proof): `{proof, publicSignals, from, to, batchSize}`
 * with a Groth16 proof, 5 decimal signals and unsigned integer labels; `EINPUT` naming what is wrong
 * (and `name`, the file, when given).
 * @example
 * const file = parseTraceProofFile(parseJson(text), 'proof.json')
 */
export function parseTraceProofFile(value: unknown, name?: string): TraceProofFile {
  const malformed = (what: string): TraceProofError =>
    new TraceProofError(
      'EINPUT',
      `malformed proof file${name === undefined ? '' : ` ${name}`}: ${what} (expected {proof, publicSignals, from, to, batchSize} as mcp0 trace prove writes it)`,
      { reason: 'malformed' },
    );
  if (!isObject(value)) throw malformed('not a JSON object');
  const { proof, publicSignals, from, to, batchSize } = value;
  if (!isObject(proof) || !Array.isArray(proof.pi_a) || !Array.isArray(proof.pi_b) || !Array.isArray(proof.pi_c))
    throw malformed('proof is not a Groth16 proof {pi_a, pi_b, pi_c}');
  if (
    !Array.isArray(publicSignals) ||
    publicSignals.length !== TRACE_BATCH_PUBLIC_SIGNALS.length ||
    !publicSignals.every((s) => typeof s === 'string' && /^[0-9]+$/.test(s))
  ) {
    throw malformed(`publicSignals is not ${TRACE_BATCH_PUBLIC_SIGNALS.length} decimal strings [${TRACE_BATCH_PUBLIC_SIGNALS.join(', ')}]`);
  }
  for (const [name, v] of [
    ['from', from],
    ['to', to],
    ['batchSize', batchSize],
  ] as const) {
    if (!isSeq(v)) throw malformed(`${name} is ${v === undefined ? 'missing' : `not an unsigned integer (${JSON.stringify(v)})`}`);
  }
  return { proof, publicSignals: publicSignals as string[], from: from as number, to: to as number, batchSize: batchSize as number };
}

/**
 * What to bind a proof to: a signed checkpoint and the keys trusted to sign it, a chain, or both
 * (each must hold). At least one is required.
 * @example
 * const binding: TraceProofBinding = { checkpoint: parseJson(headJson), trust: [operatorKey] }
 */
export interface TraceProofBinding {
  /** A checkpoint as exported (unverified JSON): it is verified against `trust`. */
  checkpoint?: unknown;
  /** Keys trusted to sign checkpoints (the node operator's). */
  trust?: readonly PublicKey[];
  /** A chain to read heads from (a store: `kvTraceChain`, or a node: `nodeTraceChain`). */
  chain?: TraceChainView;
}

/**
 * What a bound proof proves: entries `from..to` of the chain, with the public signals.
 * @example
 * const { from, to, totalCost, bound } = await verifyTraceProof(file, { vkey, checkpoint, trust })
 */
export interface VerifiedTraceProof {
  from: number;
  to: number;
  count: number;
  newRoot: string;
  totalCost: string;
  prevRoot: string;
  costLimit: string;
  /** What the proof was checked against. */
  bound: {
    checkpoint?: { checkpoint: TraceCheckpoint; signer: PublicKey };
    /** The chain's name and its head seq when checked. */
    chain?: { name: string; headSeq: number };
  };
}

function refuse(reason: string, message: string, details: Record<string, unknown> = {}): TraceProofError {
  return new TraceProofError('ESIGNATURE', message, { reason, ...details });
}

/** The file's labels against the entries the binding proves. */
function checkLabels(file: TraceProofFile, from: number, to: number, against: string): void {
  if (file.from !== from || file.to !== to) {
    throw refuse('range', `the file says entries ${file.from}..${file.to}, the proof against ${against} covers ${from}..${to}`, {
      file: { from: file.from, to: file.to },
      proven: { from, to },
    });
  }
}

/**
 * Verifies a batch proof and binds it to a chain: the pairing against `vkey`, then for a
 * checkpoint (verified against `trust`) that `newRoot` is its signed head, so the proof covers
 * entries `seq − count + 1 .. seq`; for a chain that `prevRoot` is the head of entry `from − 1`
 * (0 when from = 0), `newRoot` the head of entry `to` and `count` = to − from + 1. The file's
 * `from`/`to` must name the entries proven and `batchSize` the circuit's. A batch of invented
 * events from a real head ends at no head the node vouches for and is refused. Throws
 * `TraceProofError` (or the checkpoint's `StatementError`/`CheckpointError`); the pairing is
 * checked first, so a proof that does not verify is named as such.
 * @example
 * const proven = await verifyTraceProof(file, { vkey: await loadVerificationKey('ceremony/verification_key.json'), checkpoint, trust: [operatorKey] })
 * console.log(`entries ${proven.from}..${proven.to}, total cost ${proven.totalCost}`)
 */
export async function verifyTraceProof(value: unknown, options: TraceProofBinding & { vkey: VerificationKey }): Promise<VerifiedTraceProof> {
  const file = parseTraceProofFile(value);
  if (options.checkpoint === undefined && options.chain === undefined) {
    throw new TraceProofError(
      'EUSAGE',
      'a proof is evidence of a chain only when bound to one: pass a checkpoint (with the keys trusted to sign it) or a chain',
      { reason: 'unbound' },
    );
  }
  if (file.batchSize !== TRACE_BATCH_N) {
    throw refuse('batch-size', `the file says batchSize ${file.batchSize}, the circuit's batch size is ${TRACE_BATCH_N}`, {
      file: file.batchSize,
      circuit: TRACE_BATCH_N,
    });
  }
  if (!(await verifyBatch(file.proof, file.publicSignals, options.vkey))) {
    throw refuse('pairing', 'the proof does not verify against the verification key: the proof, a public signal or the key differs from what was proved');
  }
  const [newRoot, totalCost, countText, prevRoot, costLimit] = file.publicSignals as [string, string, string, string, string];
  const count = Number(countText);
  if (!(count >= 1 && count <= TRACE_BATCH_N)) {
    throw refuse('count', `the proof's count is ${countText}, expected 1 to ${TRACE_BATCH_N} entries: an empty batch proves no entry`, { count: countText });
  }
  const result: VerifiedTraceProof = { from: file.from, to: file.to, count, newRoot, totalCost, prevRoot, costLimit, bound: {} };

  if (options.checkpoint !== undefined) {
    const { checkpoint, key } = verifyCheckpoint(options.checkpoint, options.trust ?? []);
    const against = `checkpoint seq ${checkpoint.seq}`;
    if (newRoot !== checkpoint.head) {
      throw refuse(
        'new-root',
        `the proof ends at newRoot ${newRoot}, but ${against} signed head ${checkpoint.head}: the batch does not end at the signed head (a proof is checked against a checkpoint only when it ends at the checkpoint's seq, ${checkpoint.seq})`,
        { newRoot, head: checkpoint.head, seq: checkpoint.seq },
      );
    }
    // A chain of `count` steps ending at head_seq starts at head_{seq − count}; past entry 0 it would
    // have to pass through head_{−1} = 0 as a Poseidon output.
    if (count > checkpoint.seq + 1) {
      throw refuse('count', `the proof's count is ${count}, but ${against} holds only ${checkpoint.seq + 1} entries (0..${checkpoint.seq})`, {
        count,
        seq: checkpoint.seq,
      });
    }
    const from = checkpoint.seq - count + 1;
    if (from === 0 && prevRoot !== '0') {
      throw refuse('prev-root', `the proof starts at prevRoot ${prevRoot}, but a batch from entry 0 starts at 0`, { prevRoot, expected: '0' });
    }
    checkLabels(file, from, checkpoint.seq, against);
    result.bound.checkpoint = { checkpoint, signer: key };
  }

  if (options.chain !== undefined) {
    const chain = options.chain;
    const { from, to } = file;
    if (from > to) throw refuse('range', `the file says entries ${from}..${to}: from is after to`, { from, to });
    const head = await chain.head();
    if (head === undefined) throw new TraceProofError('ENOTFOUND', `${chain.name} holds no trace: nothing to check the proof against`, { reason: 'no-trace' });
    if (to > head.seq)
      throw refuse('past-head', `the file says entries ${from}..${to}, but the chain in ${chain.name} ends at entry ${head.seq}`, { to, head: head.seq });
    if (to - from + 1 !== count) {
      throw refuse('count', `the file says entries ${from}..${to} (${to - from + 1} entries), the proof's count is ${count}`, { from, to, count });
    }
    const anchor = from === 0 ? '0' : await chain.headAt(from - 1);
    if (prevRoot !== anchor) {
      throw refuse(
        'prev-root',
        `the proof starts at prevRoot ${prevRoot}, but ${from === 0 ? 'a batch from entry 0 starts at 0' : `the head of entry ${from - 1} in ${chain.name} is ${anchor}`}`,
        { prevRoot, expected: anchor },
      );
    }
    const end = await chain.headAt(to);
    if (newRoot !== end) {
      throw refuse(
        'new-root',
        `the proof ends at newRoot ${newRoot}, but the head of entry ${to} in ${chain.name} is ${end}: the batch is not the chain's entries ${from}..${to}`,
        { newRoot, expected: end },
      );
    }
    result.bound.chain = { name: chain.name, headSeq: head.seq };
  }
  return result;
}
