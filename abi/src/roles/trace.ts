/**
 * The trace role's public contract beyond its exports: where a trace plugin keeps its chain in kv
 * (so a client can read a node's chain from its store with no node running) and the cost cap the
 * chain and the batch circuit share. Written once here; the SDK, the CLI and the conformance suite
 * use these, and the reference plugin (plugins/trace) keeps the same layout.
 */

/**
 * The kv namespace the trace plugin writes its chain in (its module name).
 * @example
 * await store.kv.get(TRACE_NAMESPACE, TRACE_HEAD_KEY)
 */
export const TRACE_NAMESPACE = 'mcp0.trace';

/**
 * The head record's key: CBOR `{seq, head}`.
 * @example
 * const bytes = await store.kv.get(TRACE_NAMESPACE, TRACE_HEAD_KEY)
 */
export const TRACE_HEAD_KEY = 'trace/head';

/**
 * The kv key of entry `seq`: CBOR `{seq, event, eventHash, head}`.
 * @example
 * traceEntryKey(41) // 'trace/e/00000000000000000041'
 */
export const traceEntryKey = (seq: number): string => `trace/e/${String(seq).padStart(20, '0')}`;

/**
 * The largest cost an entry carries into the chain, 2^32 − 1: the batch circuit range-checks costs
 * to 32 bits, so the chain saturates larger ones (the event keeps its true cost).
 * @example
 * const saturated = entry.cost > MAX_CHAIN_COST
 */
export const MAX_CHAIN_COST = 2n ** 32n - 1n;

/**
 * The cost the chain (and the circuit) uses: the true cost saturated at 2^32 − 1.
 * @example
 * chainCost(2n ** 40n) // 4294967295n
 */
export const chainCost = (cost: bigint): bigint => (cost > MAX_CHAIN_COST ? MAX_CHAIN_COST : cost);
