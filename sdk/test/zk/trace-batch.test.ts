// Groth16 batch proofs over circuits/trace_batch.circom with the bundled development artifacts.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mcp0Error } from '@mcp0/abi';
import * as snarkjs from 'snarkjs';
import {
  BN254_FIELD,
  TRACE_BATCH_N,
  batchArtifacts,
  batchWitnessInput,
  exportSolidityVerifier,
  loadVerificationKey,
  proveBatch,
  readPublicSignals,
  releaseZk,
  verifyBatch,
  type BatchEvent,
  type BatchProof,
  type VerificationKey,
} from '../../src/zk/index.js';

const haveArtifacts = existsSync(batchArtifacts().zkey);

/** Deterministic field elements standing in for event hashes. */
function fieldElement(seed: string): bigint {
  return BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`) % BN254_FIELD;
}
function makeEvents(n: number, tag = 'e'): BatchEvent[] {
  return Array.from({ length: n }, (_, i) => ({ eventHash: fieldElement(`${tag}${i}`), cost: BigInt(1000 + i * 37) }));
}

// The expected chain, from circomlibjs (a devDependency of plugins/trace, hoisted: tests only).
let poseidon3: (a: bigint, b: bigint, c: bigint) => bigint;
function chain(prevRoot: bigint, events: readonly BatchEvent[]): bigint {
  let h = prevRoot;
  for (const e of events) h = poseidon3(h, BigInt(e.eventHash), BigInt(e.cost));
  return h;
}

const prevRoot = fieldElement('genesis');
let vkey: VerificationKey;
let full: BatchProof;
let fullEvents: BatchEvent[];
const timings: Record<string, number> = {};

describe.skipIf(!haveArtifacts)('trace batch proofs (TraceBatch(32), Groth16)', () => {
  beforeAll(async () => {
    const circomlibjs = 'circomlibjs'; // untyped; a variable specifier keeps tsc from asking for types
    const { buildPoseidon } = (await import(circomlibjs)) as {
      buildPoseidon(): Promise<((xs: bigint[]) => Uint8Array) & { F: { toObject(x: Uint8Array): bigint } }>;
    };
    const p = await buildPoseidon();
    poseidon3 = (a, b, c) => p.F.toObject(p([a, b, c]));
    expect(poseidon3(1n, 2n, 3n)).toBe(6542985608222806190361240322586112750744169038454362455181422643027100751666n);
    vkey = await loadVerificationKey();
  });
  afterAll(async () => {
    console.log(`zk timings (ms): ${JSON.stringify(timings)}`);
    await releaseZk();
  });

  it('proves and verifies a full batch of 32', async () => {
    fullEvents = makeEvents(TRACE_BATCH_N);
    const costLimit = 100_000n;
    let t = performance.now();
    const r = await proveBatch({ prevRoot, events: fullEvents, costLimit });
    timings.fullProve32 = Math.round(performance.now() - t);
    full = r;
    const total = fullEvents.reduce((s, e) => s + BigInt(e.cost), 0n);
    expect(r.publicSignals).toEqual([chain(prevRoot, fullEvents), total, 32n, prevRoot, costLimit].map(String));
    expect(r).toMatchObject({ newRoot: chain(prevRoot, fullEvents), totalCost: total, count: 32, prevRoot, costLimit });
    t = performance.now();
    expect(await verifyBatch(r.proof, r.publicSignals, vkey)).toBe(true);
    timings.verifyFirst = Math.round(performance.now() - t);
    t = performance.now();
    expect(await verifyBatch(r.proof, r.publicSignals, vkey)).toBe(true);
    timings.verifyWarm = Math.round(performance.now() - t);
    // A proof is small: about 720 bytes of JSON.
    expect(JSON.stringify(r.proof).length).toBeLessThan(1000);
  });

  it('proves and verifies a short batch of 5 (padded), and the empty batch', async () => {
    const events = makeEvents(5, 'short');
    const t = performance.now();
    const r = await proveBatch({ prevRoot, events, costLimit: 5_370 });
    timings.fullProve5 = Math.round(performance.now() - t);
    expect(readPublicSignals(r.publicSignals)).toEqual({
      newRoot: chain(prevRoot, events),
      totalCost: 5_370n, // 1000+1037+1074+1111+1148, exactly at the limit
      count: 5,
      prevRoot,
      costLimit: 5_370n,
    });
    expect(await verifyBatch(r.proof, r.publicSignals, vkey)).toBe(true);
    // The padded proof differs from a proof that claims a different count for the same root.
    const forged = [...r.publicSignals];
    forged[2] = '32';
    expect(await verifyBatch(r.proof, forged, vkey)).toBe(false);

    const empty = await proveBatch({ prevRoot, events: [], costLimit: 0 });
    expect(empty.publicSignals).toEqual([prevRoot, 0n, 0n, prevRoot, 0n].map(String));
    expect(await verifyBatch(empty.proof, empty.publicSignals, vkey)).toBe(true);
  });

  it('fails verification after tampering with any public signal or the proof', async () => {
    for (let i = 0; i < full.publicSignals.length; i++) {
      const tampered = [...full.publicSignals];
      tampered[i] = ((BigInt(tampered[i]!) + 1n) % BN254_FIELD).toString();
      expect(await verifyBatch(full.proof, tampered, vkey), `signal ${i}`).toBe(false);
    }
    expect(await verifyBatch(full.proof, full.publicSignals.slice(0, 4), vkey)).toBe(false);
    expect(await verifyBatch(full.proof, [...full.publicSignals].reverse(), vkey)).toBe(false);
    const proof = structuredClone(full.proof) as { pi_a: string[] };
    proof.pi_a[0] = (BigInt(proof.pi_a[0]!) + 1n).toString();
    expect(await verifyBatch(proof, full.publicSignals, vkey)).toBe(false);
    expect(await verifyBatch({}, full.publicSignals, vkey)).toBe(false);
  });

  it('a proof of different events does not verify against these public signals', async () => {
    const variants: Record<string, BatchEvent[]> = {
      eventHash: fullEvents.map((e, i) => (i === 17 ? { ...e, eventHash: BigInt(e.eventHash) + 1n } : e)),
      // Same total cost (one unit moved between events), so only the chain tells them apart.
      cost: fullEvents.map((e, i) => (i === 3 ? { ...e, cost: BigInt(e.cost) + 1n } : i === 4 ? { ...e, cost: BigInt(e.cost) - 1n } : e)),
      order: fullEvents.map((e, i) => (i === 9 ? fullEvents[10]! : i === 10 ? fullEvents[9]! : e)),
    };
    for (const [name, events] of Object.entries(variants)) {
      const other = await proveBatch({ prevRoot, events, costLimit: 100_000n });
      expect(await verifyBatch(other.proof, other.publicSignals, vkey), name).toBe(true);
      expect(other.publicSignals[0], name).toBe(chain(prevRoot, events).toString());
      expect(other.publicSignals[0], name).not.toBe(full.publicSignals[0]);
      expect(other.publicSignals.slice(1), name).toEqual(full.publicSignals.slice(1));
      expect(await verifyBatch(other.proof, full.publicSignals, vkey), name).toBe(false);
    }
  });

  it('refuses an over-limit batch with a typed error naming the bound', async () => {
    const events = makeEvents(5);
    const err = await proveBatch({ prevRoot, events, costLimit: 5_369 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Mcp0Error);
    expect(err).toMatchObject({ code: 'EINPUT', details: { bound: 'costLimit', totalCost: '5370', costLimit: '5369' } });
    expect((err as Error).message).toBe('batch total cost 5370 exceeds the limit 5369');
  });

  it('refuses a cost of 2^32 or more, a limit of 2^64 or more, a non-field hash, and more than 32 events', async () => {
    const events = makeEvents(3);
    events[1] = { ...events[1]!, cost: 2n ** 32n };
    await expect(proveBatch({ prevRoot, events, costLimit: 2n ** 40n })).rejects.toMatchObject({ code: 'EINPUT', details: { bound: 'cost32', index: 1 } });
    await expect(proveBatch({ prevRoot, events: [], costLimit: 2n ** 64n })).rejects.toMatchObject({ code: 'EINPUT', details: { bound: 'costLimit64' } });
    await expect(proveBatch({ prevRoot, events: [{ eventHash: BN254_FIELD, cost: 1 }], costLimit: 9 })).rejects.toMatchObject({
      details: { bound: 'field' },
    });
    await expect(proveBatch({ prevRoot, events: [{ eventHash: 1, cost: -1 }], costLimit: 9 })).rejects.toMatchObject({ details: { bound: 'cost32' } });
    await expect(proveBatch({ prevRoot, events: makeEvents(33), costLimit: 2n ** 40n })).rejects.toMatchObject({
      code: 'ETOOBIG',
      details: { bound: 'batchSize' },
    });
  });

  // The circuit itself must refuse what the prover's pre-checks refuse: feed it witnesses directly.
  describe('the circuit refuses bad witnesses', () => {
    const wasm = batchArtifacts().wasm;
    const valid = () =>
      batchWitnessInput({ prevRoot, events: makeEvents(5), costLimit: 10_000 }) as Record<string, string | string[]> & {
        cost: string[];
        active: string[];
        eventHash: string[];
      };
    const witness = (input: Record<string, unknown>) => snarkjs.wtns.calculate(input, wasm, { type: 'mem' });

    it('accepts the valid witness', async () => {
      await expect(witness(valid())).resolves.toBeUndefined();
    });
    it('total over the limit', async () => {
      await expect(witness({ ...valid(), costLimit: '5369' })).rejects.toThrow(/Assert Failed/);
    });
    it('a cost of 2^32 (even under a huge limit)', async () => {
      const w = valid();
      w.cost[0] = (2n ** 32n).toString();
      await expect(witness({ ...w, costLimit: (2n ** 63n).toString() })).rejects.toThrow(/Assert Failed/);
    });
    it('a "negative" cost (p - 1), which would wrap the sum', async () => {
      const w = valid();
      w.cost[0] = (BN254_FIELD - 1n).toString();
      await expect(witness(w)).rejects.toThrow(/Assert Failed/);
    });
    it('a limit of 2^64 or more', async () => {
      await expect(witness({ ...valid(), costLimit: (2n ** 64n).toString() })).rejects.toThrow(/Assert Failed/);
    });
    it('non-monotone padding (a gap, then an active slot)', async () => {
      const w = valid();
      w.active[2] = '0';
      w.cost[2] = '0';
      w.eventHash[2] = '0';
      await expect(witness(w)).rejects.toThrow(/Assert Failed/);
    });
    it('a non-boolean active flag', async () => {
      const w = valid();
      w.active[0] = '2';
      await expect(witness(w)).rejects.toThrow(/Assert Failed/);
    });
    it('an inactive slot that carries a cost or an event hash', async () => {
      const a = valid();
      a.cost[7] = '5';
      await expect(witness(a)).rejects.toThrow(/Assert Failed/);
      const b = valid();
      b.eventHash[7] = '5';
      await expect(witness(b)).rejects.toThrow(/Assert Failed/);
    });
  });

  it('exports a Solidity verifier offline', async () => {
    const sol = await exportSolidityVerifier();
    expect(sol).toMatch(/contract Groth16Verifier/);
    expect(sol).toMatch(/uint\[5\] calldata _pubSignals/);
  });
});
