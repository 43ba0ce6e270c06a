/**
 * @mcp0/sdk: what an application embeds (Node, agents, providers, typed clients). It grows with the
 * SDK work; for now: the kernel, the block and kv stores (LMDB, MongoDB, memory) and the
 * zero-knowledge prover of trace batches.
 */
export * from '@mcp0/kernel';
export * from './store/index.js';
export * from './zk/index.js';
export * from './archive/index.js';
export * from './node/index.js';
export * from './dist/index.js';
export * from './usage/index.js';
/**
 * The trace chain from the client's side: entry shapes, reading a chain, signed checkpoints and
 * batch proofs bound to a chain (`verifyTraceProof`).
 * @example
 * const { event, head } = (await node.callRole('trace', 'get', { seq: 0 })) as TraceEntry
 */
export * from './trace/index.js';
