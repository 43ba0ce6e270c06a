// verifyTraceProof: a batch proof bound to a chain, against a signed checkpoint and against a chain
// view. A chain of 6 events with circomlibjs heads; one real proof of entries 2..5 and one of three
// invented events from the real head of entry 1; then every way to pass either off as something else.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, StatementError } from '@mcp0/abi';
import { BN254_FIELD, batchArtifacts, loadVerificationKey, proveBatch, releaseZk, type BatchEvent, type VerificationKey } from '../../src/zk/index.js';
import type { TraceChainView } from '../../src/trace/chain.js';
import { signCheckpoint, type TraceCheckpoint } from '../../src/trace/checkpoint.js';
import { TraceProofError, verifyTraceProof, type TraceProofFile } from '../../src/trace/proof.js';

const haveArtifacts = existsSync(batchArtifacts().zkey);
const fieldElement = (seed: string): bigint => BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`) % BN254_FIELD;
const operator = generateKeyPair();
const stranger = generateKeyPair();

let vkey: VerificationKey;
let heads: string[] = [];
let events: BatchEvent[] = [];
let real: TraceProofFile;
let forged: TraceProofFile;
let checkpoint: TraceCheckpoint;

const chain: TraceChainView = {
  name: 'the test chain',
  head: async () => ({ seq: heads.length - 1, head: heads.at(-1)! }),
  headAt: async (seq) => {
    if (heads[seq] === undefined) throw new Error(`no entry ${seq}`);
    return heads[seq]!;
  },
};

/** The error `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<TraceProofError | StatementError> {
  try {
    await promise;
  } catch (e) {
    return e as TraceProofError;
  }
  throw new Error('expected a refusal');
}

describe.skipIf(!haveArtifacts)('verifyTraceProof', () => {
  beforeAll(async () => {
    const circomlibjs = 'circomlibjs'; // untyped; a variable specifier keeps tsc from asking for types
    const { buildPoseidon } = (await import(circomlibjs)) as {
      buildPoseidon(): Promise<((xs: bigint[]) => Uint8Array) & { F: { toObject(x: Uint8Array): bigint } }>;
    };
    const p = await buildPoseidon();
    events = Array.from({ length: 6 }, (_, i) => ({ eventHash: fieldElement(`event ${i}`), cost: BigInt(10 + i) }));
    let h = 0n;
    heads = events.map((e) => (h = p.F.toObject(p([h, BigInt(e.eventHash), BigInt(e.cost)]))).toString());
    vkey = await loadVerificationKey();
    const a = await proveBatch({ prevRoot: heads[1]!, events: events.slice(2, 6), costLimit: 1000, singleThread: true });
    real = { proof: a.proof, publicSignals: a.publicSignals, from: 2, to: 5, batchSize: 32 };
    // Three invented zero-cost events from the real head of entry 1, labelled as entries 2..4.
    const invented = [1, 2, 3].map((i) => ({ eventHash: fieldElement(`invented ${i}`), cost: 0 }));
    const b = await proveBatch({ prevRoot: heads[1]!, events: invented, costLimit: 0, singleThread: true });
    forged = { proof: b.proof, publicSignals: b.publicSignals, from: 2, to: 4, batchSize: 32 };
    checkpoint = signCheckpoint({ seq: 5, head: heads[5]!, time: 1_765_000_000_000 }, operator);
  }, 120_000);
  afterAll(async () => {
    await releaseZk();
  });

  it('a proof ending at a signed checkpoint covers seq − count + 1 .. seq, with no chain', async () => {
    const r = await verifyTraceProof(real, { vkey, checkpoint, trust: [operator.publicKey] });
    expect(r).toMatchObject({ from: 2, to: 5, count: 4, newRoot: heads[5], prevRoot: heads[1], totalCost: String(12 + 13 + 14 + 15), costLimit: '1000' });
    expect(r.bound.checkpoint?.signer.kid).toBe(operator.kid);
    expect(r.bound.chain).toBeUndefined();
  });

  it('a proof checked against the chain, and against both', async () => {
    expect((await verifyTraceProof(real, { vkey, chain })).bound.chain).toEqual({ name: 'the test chain', headSeq: 5 });
    const both = await verifyTraceProof(real, { vkey, chain, checkpoint, trust: [operator.publicKey] });
    expect(both.bound.chain && both.bound.checkpoint).toBeTruthy();
  });

  it('refuses invented events from a real head: against the checkpoint and against the chain', async () => {
    const cp = await refusal(verifyTraceProof(forged, { vkey, checkpoint, trust: [operator.publicKey] }));
    expect(cp).toMatchObject({ code: 'ESIGNATURE', details: { reason: 'new-root' } });
    expect(cp.message).toMatch(new RegExp(`the proof ends at newRoot ${forged.publicSignals[0]}, but checkpoint seq 5 signed head ${heads[5]}`));
    const ch = await refusal(verifyTraceProof(forged, { vkey, chain }));
    expect(ch).toMatchObject({ code: 'ESIGNATURE', details: { reason: 'new-root' } });
    expect(ch.message).toMatch(new RegExp(`but the head of entry 4 in the test chain is ${heads[4]}`));
  });

  it('refuses relabelled entries, naming what the file says and what is proven', async () => {
    const relabelled = { ...real, from: 5000, to: 5031 };
    const cp = await refusal(verifyTraceProof(relabelled, { vkey, checkpoint, trust: [operator.publicKey] }));
    expect(cp).toMatchObject({ code: 'ESIGNATURE', details: { reason: 'range' } });
    expect(cp.message).toBe('the file says entries 5000..5031, the proof against checkpoint seq 5 covers 2..5');
    expect((await refusal(verifyTraceProof(relabelled, { vkey, chain }))).message).toMatch(
      /the file says entries 5000\.\.5031, but the chain in the test chain ends at entry 5/,
    );
    // Same length, shifted: the roots no longer match the chain.
    const shifted = await refusal(verifyTraceProof({ ...real, from: 1, to: 4 }, { vkey, chain }));
    expect(shifted).toMatchObject({ details: { reason: 'prev-root' } });
    expect(shifted.message).toMatch(/the head of entry 0 in the test chain is/);
    expect((await refusal(verifyTraceProof({ ...real, from: 3, to: 5 }, { vkey, chain }))).message).toMatch(
      /the file says entries 3\.\.5 \(3 entries\), the proof's count is 4/,
    );
    expect((await refusal(verifyTraceProof({ ...real, batchSize: 64 }, { vkey, chain }))).message).toBe(
      "the file says batchSize 64, the circuit's batch size is 32",
    );
  });

  it('refuses a checkpoint by an untrusted key naming the signer, and a tampered one', async () => {
    const foreign = signCheckpoint({ seq: 5, head: heads[5]!, time: 1 }, stranger);
    const untrusted = await refusal(verifyTraceProof(real, { vkey, checkpoint: foreign, trust: [operator.publicKey] }));
    expect(untrusted).toBeInstanceOf(StatementError);
    expect(untrusted.message).toMatch(new RegExp(`signed by ${stranger.kid}, which is not a trusted key \\(trusted: ${operator.kid}\\)`));
    for (const edit of [{ seq: 6 }, { head: heads[4] }, { time: 2 }]) {
      const e = await refusal(verifyTraceProof(real, { vkey, checkpoint: { ...checkpoint, ...edit }, trust: [operator.publicKey] }));
      expect(e).toMatchObject({ code: 'ESIGNATURE' });
      expect(e.message).toMatch(/does not verify: a member was changed after signing/);
    }
  });

  it('refuses a signed head that cannot be the end of this batch (an operator signing nonsense)', async () => {
    const early = signCheckpoint({ seq: 2, head: heads[5]!, time: 1 }, operator);
    expect((await refusal(verifyTraceProof(real, { vkey, checkpoint: early, trust: [operator.publicKey] }))).message).toMatch(
      /the proof's count is 4, but checkpoint seq 2 holds only 3 entries/,
    );
    const fromZero = signCheckpoint({ seq: 3, head: heads[5]!, time: 1 }, operator);
    expect((await refusal(verifyTraceProof({ ...real, from: 0, to: 3 }, { vkey, checkpoint: fromZero, trust: [operator.publicKey] }))).message).toMatch(
      /prevRoot .* but a batch from entry 0 starts at 0/,
    );
  });

  it('refuses a proof that does not verify, an unbound check, and a malformed file', async () => {
    const tampered = { ...real, publicSignals: [...real.publicSignals] };
    tampered.publicSignals[1] = '1';
    expect(await refusal(verifyTraceProof(tampered, { vkey, chain }))).toMatchObject({ code: 'ESIGNATURE', details: { reason: 'pairing' } });
    expect(await refusal(verifyTraceProof(real, { vkey }))).toMatchObject({ code: 'EUSAGE', details: { reason: 'unbound' } });
    expect((await refusal(verifyTraceProof({ ...real, from: -1 }, { vkey, chain }))).message).toMatch(/malformed proof file: from is not an unsigned integer/);
    expect((await refusal(verifyTraceProof({ publicSignals: real.publicSignals }, { vkey, chain }))).message).toMatch(/proof is not a Groth16 proof/);
  });
});
