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
 * The trace role's entry and event shapes, for reading a chain through `node.callRole('trace', …)`.
 * @example
 * const { event, head } = (await node.callRole('trace', 'get', { seq: 0 })) as TraceEntry
 */
export type { TraceEvent, TraceEntry } from './trace/entry.js';
