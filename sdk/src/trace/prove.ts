/**
 * Proving a range of a stored trace chain, once for every caller (`mcp0 trace prove`, the node's
 * TraceProof over gRPC): read entries `from..to` and the anchor head before them from the trace
 * role's kv layout, find the cost limit (given, or the agreement the entries ran under), check the
 * prover's bounds before the seconds of proving, prove with the TraceBatch circuit, and check that
 * the proof's newRoot is the stored head of entry `to`: a store whose heads do not link yields no
 * proof. The answer is the proof file `mcp0 trace verify` reads. snarkjs is loaded only when a
 * proof is made.
 */
import { Mcp0Error, TRACE_HEAD_KEY, TRACE_NAMESPACE, UsageError } from '@mcp0/abi';
import { cutoffReached, type Cutoff, type KvProvider } from '@mcp0/kernel';
import { batchWitnessInput, proveBatch, TRACE_BATCH_N, type BatchArtifacts, type ProveBatchInput } from '../zk/trace-batch.js';
import { chainCost, MAX_CHAIN_COST, readTraceEntry, readTraceHead, type TraceChainEntry } from './chain.js';
import { parseCostLimit, TRACE_PROVE_NAMES, traceCostLimit, type TraceProveNames } from './limit.js';
import type { TraceProofFile } from './proof.js';

/**
 * What to prove: entries `from..to` (at most `TRACE_BATCH_N`), under a cost limit that is
 * `costLimit` when given, else the quota of `agreement`, else that of the one agreement every
 * entry's agent is bound to.
 * @example
 * const options: ProveTraceRangeOptions = { from: 2, to: 5, agreement: 'agr-1', name: 'lmdb:./data' }
 */
export interface ProveTraceRangeOptions extends Cutoff {
  from: number;
  to: number;
  /** An integer from 0 to 2^64 − 1 (text: decimal). */
  costLimit?: string | number | bigint;
  agreement?: string;
  /** What to call the store in messages (default `the store`), e.g. its URI. */
  name?: string;
  /** How messages name the inputs (default: these options' member names; the CLI passes its flags). */
  names?: Readonly<TraceProveNames>;
  /** Where the circuit and proving key live (default: the bundled development artifacts). */
  artifacts?: Partial<BatchArtifacts>;
  /** Prove on the calling thread (no worker threads left behind; blocks its event loop for seconds). */
  singleThread?: boolean;
  /**
   * Where the work is: `limit` once the entries and the limit are read (with the seqs of entries
   * whose cost entered the chain saturated at 2^32 − 1), `proving` once the bounds hold and the
   * seconds of proving begin, `proved` when the prover is done (the link to the stored head is
   * checked next).
   */
  onProgress?: (event: ProveTraceRangeEvent) => void;
}

/**
 * A step of `proveTraceRange`, for a caller that reports progress.
 * @example
 * const onProgress = (e: ProveTraceRangeEvent) => e.phase === 'proving' && console.error(`proving ${e.count} events…`)
 */
export type ProveTraceRangeEvent =
  | { phase: 'limit'; costLimit: bigint; limitSource: string; saturated: number[] }
  | { phase: 'proving'; count: number; costLimit: bigint }
  | { phase: 'proved'; count: number };

/**
 * A proof of a stored range: the proof file (`mcp0 trace verify` reads it) and where its cost
 * limit came from.
 * @example
 * const { limitSource, ...file }: TraceRangeProof = await proveTraceRange(store.kv, { from: 0, to: 3, costLimit: 10_000 })
 */
export interface TraceRangeProof extends TraceProofFile {
  limitSource: string;
}

/**
 * Checks what can be checked of a range without a store: `from` and `to` unsigned, in order, at
 * most `TRACE_BATCH_N` entries, and the cost limit's form. EUSAGE in `names`' words.
 * @example
 * checkTraceRange({ from: 0, to: 40 }) // throws: 41 entries; a proof covers at most 32 …
 */
export function checkTraceRange(
  range: { from: number; to: number; costLimit?: string | number | bigint },
  names: Readonly<TraceProveNames> = TRACE_PROVE_NAMES,
): void {
  const { from, to } = range;
  for (const [name, v] of [
    [names.from, from],
    [names.to, to],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new UsageError('EUSAGE', `${name}: expected an unsigned integer, got ${String(v)}`);
  }
  if (from > to) throw new UsageError('EUSAGE', `${names.from} ${from} is after ${names.to} ${to}`, { from, to });
  const count = to - from + 1;
  if (count > TRACE_BATCH_N) {
    throw new UsageError(
      'EUSAGE',
      `${from}..${to} is ${count} entries; a proof covers at most ${TRACE_BATCH_N} (the circuit's batch size): split the range, e.g. ${names.from} ${from} ${names.to} ${from + TRACE_BATCH_N - 1}, then ${names.from} ${from + TRACE_BATCH_N}`,
      { from, to, count, batchSize: TRACE_BATCH_N },
    );
  }
  if (range.costLimit !== undefined) parseCostLimit(range.costLimit, names);
}

/** The prover's typed error, its message naming the bound it broke. */
function withBound(e: unknown, names: Readonly<TraceProveNames>): unknown {
  if (!(e instanceof Mcp0Error) || typeof e.details.bound !== 'string') return e;
  const hint = e.details.bound === 'costLimit' ? `; raise ${names.costLimit} or prove a smaller range` : '';
  return new Mcp0Error(e.code, `${e.message} (bound: ${e.details.bound}${hint})`, { ...e.details }, { cause: e });
}

/**
 * Proves entries `from..to` of the trace chain stored in `kv` (the trace role's kv layout) with
 * the Groth16 TraceBatch circuit: prevRoot is the head of entry `from − 1` (0 for from = 0), and the
 * proof's newRoot must be the stored head of entry `to`. Takes seconds and every core (snarkjs's
 * worker threads: call `releaseZk` from `@mcp0/sdk/zk` at shutdown, or pass `singleThread`).
 * Errors, typed: EUSAGE for a bad range or no cost limit to be found (saying what to pass);
 * ENOTFOUND for no trace or a range past the head; ESTATE for a missing or malformed entry or
 * agreement record, or heads that do not link; the prover's EINPUT naming the bound a batch breaks
 * (over its cost limit), before any proving; ETIMEOUT when the cutoff (`deadline`, `signal`) comes
 * before proving begins. A proof once begun runs to its end: snarkjs cannot be interrupted.
 * @example
 * const store = await openStore('lmdb:./data')
 * const { limitSource, ...file } = await proveTraceRange(store.kv, { from: 2, to: 5, agreement: 'agr-1' })
 * await writeFile('proof.json', JSON.stringify(file)) // mcp0 trace verify proof.json --store lmdb:./data
 */
export async function proveTraceRange(kv: KvProvider, options: ProveTraceRangeOptions): Promise<TraceRangeProof> {
  const names = options.names ?? TRACE_PROVE_NAMES;
  const { from, to } = options;
  checkTraceRange(options, names);
  const name = options.name ?? 'the store';
  const what = `proving entries ${from}..${to}`;

  const head = await readTraceHead(kv);
  if (head === undefined) {
    throw new Mcp0Error(
      'ENOTFOUND',
      `no trace in ${name}: ${TRACE_NAMESPACE} has no ${TRACE_HEAD_KEY} record (is mcp0.trace loaded with kv and in the observe pipeline?)`,
      { uri: name },
    );
  }
  if (to > head.seq) throw new Mcp0Error('ENOTFOUND', `entry ${to} is past the chain head (seq ${head.seq})`, { to, head: head.seq });
  const prevRoot = from === 0 ? '0' : (await readTraceEntry(kv, from - 1)).head;
  const entries: TraceChainEntry[] = [];
  for (let seq = from; seq <= to; seq++) entries.push(await readTraceEntry(kv, seq));
  const limit = await traceCostLimit(
    kv,
    entries,
    {
      ...(options.costLimit === undefined ? {} : { costLimit: options.costLimit }),
      ...(options.agreement === undefined ? {} : { agreement: options.agreement }),
    },
    names,
  );
  const saturated = entries.filter((e) => e.cost > MAX_CHAIN_COST).map((e) => e.seq);
  options.onProgress?.({ phase: 'limit', costLimit: limit.value, limitSource: limit.source, saturated });

  const input: ProveBatchInput = {
    prevRoot,
    events: entries.map((e) => ({ eventHash: e.eventHash, cost: chainCost(e.cost) })),
    costLimit: limit.value,
    ...(options.artifacts === undefined ? {} : { artifacts: options.artifacts }),
    ...(options.singleThread === undefined ? {} : { singleThread: options.singleThread }),
  };
  // The prover's own bound checks, before the seconds of proving: an over-limit batch fails here.
  try {
    batchWitnessInput(input);
  } catch (e) {
    throw withBound(e, names);
  }
  const late = cutoffReached(
    { ...(options.deadline === undefined ? {} : { deadline: options.deadline }), ...(options.signal ? { signal: options.signal } : {}) },
    what,
  );
  if (late) throw late;
  options.onProgress?.({ phase: 'proving', count: entries.length, costLimit: limit.value });
  let result: Awaited<ReturnType<typeof proveBatch>>;
  try {
    result = await proveBatch(input);
  } catch (e) {
    throw withBound(e, names);
  }
  options.onProgress?.({ phase: 'proved', count: entries.length });
  const last = entries.at(-1)!;
  if (result.newRoot.toString() !== last.head) {
    throw new Mcp0Error(
      'ESTATE',
      `the stored chain does not link: the batch from prevRoot ${prevRoot} ends at ${result.newRoot}, but entry ${to}'s stored head is ${last.head} (check the range with the plugin's verifyRange); no proof written`,
      { from, to },
    );
  }
  return { proof: result.proof, publicSignals: result.publicSignals, from, to, batchSize: TRACE_BATCH_N, limitSource: limit.source };
}
