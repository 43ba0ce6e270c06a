/**
 * Zero-knowledge batch proofs for the trace chain (ARCHITECTURE.md §5, "trace").
 *
 * A Groth16 proof over the circuit `circuits/trace_batch.circom` (`TraceBatch(32)`) shows that a
 * batch of at most 32 events extends the trace hash chain
 * `h_0 = prevRoot, h_i = Poseidon(h_{i-1}, eventHash_i, cost_i), newRoot = h_count`, that every
 * cost is below 2^32 and that the total cost is at most `costLimit`, revealing no single event.
 *
 * The circuit computes the chain itself: `newRoot`, `totalCost` and `count` are circuit outputs,
 * so the prover needs no Poseidon of its own and reads them back from the public signals.
 * Public signals, in order: `[newRoot, totalCost, count, prevRoot, costLimit]`.
 *
 * The bundled keys in `sdk/zk/trace_batch_32/` come from a DEVELOPMENT ceremony
 * (`npm run zk:setup`) and are NOT FOR PRODUCTION; see circuits/README.md.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_CHAIN_COST, Mcp0Error } from '@mcp0/abi';

/** snarkjs (and its curve arithmetic) loaded when a proof is made or checked: it costs a third of a second to import. */
const loadSnarkjs = (): Promise<typeof import('snarkjs')> => import('snarkjs');

/**
 * The batch size the bundled circuit was compiled for.
 * @example
 * for (let i = 0; i < events.length; i += TRACE_BATCH_N) batches.push(events.slice(i, i + TRACE_BATCH_N))
 */
export const TRACE_BATCH_N = 32;
/**
 * The names of the public signals, in the order snarkjs returns them and the verifier expects.
 * @example
 * TRACE_BATCH_PUBLIC_SIGNALS.map((name, i) => `${name} ${publicSignals[i]}`)
 */
export const TRACE_BATCH_PUBLIC_SIGNALS = ['newRoot', 'totalCost', 'count', 'prevRoot', 'costLimit'] as const;
/**
 * BN254's scalar field: every chain value and event hash is an element of it.
 * @example
 * const eventHash = BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`) % BN254_FIELD
 */
export const BN254_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/**
 * Costs are range-checked to 32 bits, the limit and the total to 64 bits: the trace role's cost cap
 * (MAX_CHAIN_COST in @mcp0/abi), to which the chain saturates larger costs (`chainCost`).
 * @example
 * if (cost > MAX_EVENT_COST) throw new Error('saturate it with chainCost first')
 */
export const MAX_EVENT_COST = MAX_CHAIN_COST;
/**
 * The largest `costLimit` (and so batch total) a proof can carry: 2^64 − 1.
 * @example
 * await proveBatch({ prevRoot, events, costLimit: MAX_COST_LIMIT }) // no limit in effect
 */
export const MAX_COST_LIMIT = 2n ** 64n - 1n;

/**
 * The default artifact folder: `sdk/zk/trace_batch_32/`, from `src/zk/` and from `dist/zk/` alike.
 * @example
 * const manifest = JSON.parse(readFileSync(join(DEFAULT_ARTIFACTS_DIR, 'manifest.json'), 'utf8'))
 */
export const DEFAULT_ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../zk/trace_batch_32');

/**
 * The files of a compiled circuit and its keys, by role.
 * @example
 * const { wasm, zkey, vkey }: BatchArtifacts = batchArtifacts('build/trace_batch_32')
 */
export interface BatchArtifacts {
  /** The circuit's witness generator (`trace_batch.wasm`). */
  wasm: string;
  /** The final proving key (`trace_batch_final.zkey`). */
  zkey: string;
  /** The verification key (`verification_key.json`). */
  vkey: string;
}

/**
 * The artifact paths inside a folder laid out like `sdk/zk/trace_batch_32/`.
 * @example
 * const vkey = await loadVerificationKey(batchArtifacts().vkey)
 */
export function batchArtifacts(dir: string = DEFAULT_ARTIFACTS_DIR): BatchArtifacts {
  return {
    wasm: join(dir, 'trace_batch.wasm'),
    zkey: join(dir, 'trace_batch_final.zkey'),
    vkey: join(dir, 'verification_key.json'),
  };
}

type Num = bigint | number | string;

/**
 * One event of a batch: its hash and its cost, as the trace chains them.
 * @example
 * const events: BatchEvent[] = entries.map((e) => ({ eventHash: e.eventHash, cost: e.event.cost }))
 */
export interface BatchEvent {
  /** The event's Poseidon hash, a BN254 field element. */
  eventHash: Num;
  /** The event's cost, an integer in [0, 2^32). */
  cost: Num;
}

/**
 * What `proveBatch` proves: a batch of events from `prevRoot` under `costLimit`.
 * @example
 * const input: ProveBatchInput = { prevRoot: '0', events, costLimit: 10_000n, singleThread: true }
 */
export interface ProveBatchInput {
  /** The chain head before the batch. */
  prevRoot: Num;
  /** The batch, in chain order: 0 to 32 events. */
  events: readonly BatchEvent[];
  /** The agreement's limit on the batch's total cost, an integer in [0, 2^64). */
  costLimit: Num;
  /** Where the wasm and zkey live; defaults to the bundled development artifacts. */
  artifacts?: Partial<BatchArtifacts>;
  /** Prove on the main thread only (1.3–1.5× slower, but leaves no worker threads behind). */
  singleThread?: boolean;
}

/**
 * A Groth16 proof as snarkjs writes it (`pi_a`, `pi_b`, `pi_c`, `protocol`, `curve`).
 * @example
 * const { proof } = JSON.parse(await readFile('batch.proof.json', 'utf8')) as { proof: Groth16Proof }
 */
export type Groth16Proof = Record<string, unknown>;
/**
 * A snarkjs verification key (JSON).
 * @example
 * const vkey: VerificationKey = await loadVerificationKey('keys/verification_key.json')
 */
export type VerificationKey = Record<string, unknown>;

/**
 * The public signals of a batch proof, by name.
 * @example
 * const { newRoot, totalCost, count }: BatchPublic = readPublicSignals(publicSignals)
 */
export interface BatchPublic {
  newRoot: bigint;
  totalCost: bigint;
  count: number;
  prevRoot: bigint;
  costLimit: bigint;
}

/**
 * A batch proof and the public signals it proves.
 * @example
 * const { proof, publicSignals }: BatchProof = await proveBatch(input)
 * await writeFile('batch.proof.json', JSON.stringify({ proof, publicSignals }))
 */
export interface BatchProof {
  proof: Groth16Proof;
  /** Decimal strings: `[newRoot, totalCost, count, prevRoot, costLimit]`. */
  publicSignals: string[];
}

function toBigInt(value: Num, what: string): bigint {
  try {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('not a safe integer');
    const v = BigInt(value);
    return v;
  } catch (e) {
    throw new Mcp0Error('EINPUT', `${what} is not an integer: ${String(value)}`, { bound: 'integer', field: what }, { cause: e });
  }
}

function inRange(v: bigint, max: bigint, what: string, bound: string): bigint {
  if (v < 0n || v > max) {
    throw new Mcp0Error('EINPUT', `${what} ${v} is out of range [0, ${max}]`, { bound, field: what, value: v.toString(), max: max.toString() });
  }
  return v;
}

/**
 * Read the named public signals out of a proof's `publicSignals`.
 * @example
 * readPublicSignals(publicSignals).newRoot.toString() === lastEntry.head // the proof ends at the stored head
 */
export function readPublicSignals(publicSignals: readonly string[]): BatchPublic {
  if (publicSignals.length !== TRACE_BATCH_PUBLIC_SIGNALS.length) {
    throw new Mcp0Error('EINPUT', `expected ${TRACE_BATCH_PUBLIC_SIGNALS.length} public signals, got ${publicSignals.length}`);
  }
  const [newRoot, totalCost, count, prevRoot, costLimit] = publicSignals.map((s, i) => toBigInt(s, TRACE_BATCH_PUBLIC_SIGNALS[i]!)) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  return { newRoot, totalCost, count: Number(count), prevRoot, costLimit };
}

/**
 * The circuit's input for a batch: checks every bound first, so an over-limit batch fails here with
 * a typed error naming the bound rather than deep in the witness generator.
 * @example
 * batchWitnessInput({ prevRoot, events, costLimit }) // EINPUT or ETOOBIG now, not after seconds of proving
 */
export function batchWitnessInput(input: Pick<ProveBatchInput, 'prevRoot' | 'events' | 'costLimit'>): Record<string, string | string[]> {
  const { events } = input;
  if (events.length > TRACE_BATCH_N) {
    throw new Mcp0Error('ETOOBIG', `a batch holds at most ${TRACE_BATCH_N} events, got ${events.length}`, {
      bound: 'batchSize',
      value: events.length,
      max: TRACE_BATCH_N,
    });
  }
  const prevRoot = inRange(toBigInt(input.prevRoot, 'prevRoot'), BN254_FIELD - 1n, 'prevRoot', 'field');
  const costLimit = inRange(toBigInt(input.costLimit, 'costLimit'), MAX_COST_LIMIT, 'costLimit', 'costLimit64');
  const eventHash: string[] = [];
  const cost: string[] = [];
  const active: string[] = [];
  let total = 0n;
  events.forEach((e, i) => {
    eventHash.push(inRange(toBigInt(e.eventHash, `events[${i}].eventHash`), BN254_FIELD - 1n, `events[${i}].eventHash`, 'field').toString());
    const c = toBigInt(e.cost, `events[${i}].cost`);
    if (c < 0n || c > MAX_EVENT_COST) {
      throw new Mcp0Error('EINPUT', `event ${i} cost ${c} is not below 2^32`, {
        bound: 'cost32',
        index: i,
        value: c.toString(),
        max: MAX_EVENT_COST.toString(),
      });
    }
    cost.push(c.toString());
    active.push('1');
    total += c;
  });
  if (total > costLimit) {
    throw new Mcp0Error('EINPUT', `batch total cost ${total} exceeds the limit ${costLimit}`, {
      bound: 'costLimit',
      totalCost: total.toString(),
      costLimit: costLimit.toString(),
    });
  }
  for (let i = events.length; i < TRACE_BATCH_N; i++) {
    eventHash.push('0');
    cost.push('0');
    active.push('0');
  }
  return { prevRoot: prevRoot.toString(), costLimit: costLimit.toString(), eventHash, cost, active };
}

/** Turn a witness-generator failure ("Assert Failed … line N") into a typed error. */
function witnessError(e: unknown): Mcp0Error {
  const message = e instanceof Error ? e.message : String(e);
  const template = /template (\w+)/.exec(message)?.[1] ?? 'unknown';
  const bound = /^Num2Bits/.test(template) ? 'range' : /^(LessEqThan|LessThan)/.test(template) ? 'costLimit' : 'constraint';
  return new Mcp0Error('EINPUT', `the trace batch circuit rejected the batch (${bound}): ${message.split('\n')[0]}`, { bound, template }, { cause: e });
}

/**
 * Prove a batch of up to 32 events. Returns the Groth16 proof and the public signals
 * `[newRoot, totalCost, count, prevRoot, costLimit]`, with `newRoot` and `totalCost` computed by the
 * circuit. Throws `EINPUT` naming the bound (`costLimit`, `cost32`, `costLimit64`, `field`) when the
 * batch cannot be proved, and `ETOOBIG` for more than 32 events.
 *
 * snarkjs keeps its worker threads in `globalThis.curve_bn128`: call `releaseZk()` at shutdown, or
 * pass `singleThread: true`.
 * @example
 * const { proof, publicSignals, newRoot, totalCost } = await proveBatch({ prevRoot: '0', events, costLimit: 10_000 })
 */
export async function proveBatch(input: ProveBatchInput): Promise<BatchProof & BatchPublic> {
  const witness = batchWitnessInput(input);
  const paths = { ...batchArtifacts(), ...input.artifacts };
  let result: { proof: Groth16Proof; publicSignals: string[] };
  const snarkjs = await loadSnarkjs();
  try {
    result = await snarkjs.groth16.fullProve(witness, paths.wasm, paths.zkey, undefined, undefined, { singleThread: input.singleThread ?? false });
  } catch (e) {
    if (e instanceof Error && /Assert Failed|Error in template/.test(e.message)) throw witnessError(e);
    throw e;
  }
  return { proof: result.proof, publicSignals: result.publicSignals, ...readPublicSignals(result.publicSignals) };
}

/**
 * Load a verification key from a JSON file (default: the bundled development key).
 * @example
 * const vkey = await loadVerificationKey()
 */
export async function loadVerificationKey(path: string = batchArtifacts().vkey): Promise<VerificationKey> {
  return JSON.parse(await readFile(path, 'utf8')) as VerificationKey;
}

/**
 * Verify a batch proof with only the verification key. False for any invalid proof or tampered
 * public signal; never throws on malformed input.
 * @example
 * const ok = await verifyBatch(proof, publicSignals, vkey)
 */
export async function verifyBatch(proof: Groth16Proof, publicSignals: readonly string[], vkey?: VerificationKey): Promise<boolean> {
  const key = vkey ?? (await loadVerificationKey());
  if (publicSignals.length !== TRACE_BATCH_PUBLIC_SIGNALS.length) return false;
  const snarkjs = await loadSnarkjs();
  try {
    return await snarkjs.groth16.verify(key, publicSignals, proof);
  } catch {
    return false;
  }
}

/**
 * A Solidity verifier for the batch proofs (snarkjs's Groth16 template, rendered offline). Its
 * `verifyProof(a, b, c, pubSignals)` takes the 5 public signals in the same order. The source is
 * snarkjs's template, licensed GPL-3.0 (its SPDX header says so), not this project's Apache-2.0:
 * whoever deploys or redistributes it takes on the GPL's terms.
 * @example
 * await writeFile('TraceBatchVerifier.sol', await exportSolidityVerifier())
 */
export async function exportSolidityVerifier(zkey: string = batchArtifacts().zkey): Promise<string> {
  // snarkjs's package exports only ".", so find its templates next to its resolved entry point.
  const snarkjsMain = createRequire(import.meta.url).resolve('snarkjs');
  const template = await readFile(join(dirname(snarkjsMain), '../templates/verifier_groth16.sol.ejs'), 'utf8');
  const snarkjs = await loadSnarkjs();
  return snarkjs.zKey.exportSolidityVerifier(zkey, { groth16: template });
}

/**
 * Stop snarkjs's worker threads (held in `globalThis.curve_bn128`) so the process can exit.
 * @example
 * try { await proveBatch(input) } finally { await releaseZk() }
 */
export async function releaseZk(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } };
  await g.curve_bn128?.terminate();
  delete g.curve_bn128;
}
