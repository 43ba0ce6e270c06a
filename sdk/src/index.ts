/**
 * @mcp0/sdk: what an application embeds to run agents. This entry is the node and its agents,
 * `openStore` and the store types, distributions, the trace chain from the client's side, and
 * usage sampling; it loads no database driver and no prover. Those are subpaths, loaded only by
 * programs that use them:
 * - `@mcp0/sdk/lmdb`: LmdbStore (opened for you by `openStore('lmdb:…')`)
 * - `@mcp0/sdk/mongo`: MongoStore and MongoSyncStore (`openStore('mongodb://…')`)
 * - `@mcp0/sdk/zk`: Groth16 proofs of trace batches (snarkjs)
 * - `@mcp0/sdk/archive`: exporting and importing an agent's state
 * The kernel is `@mcp0/kernel`'s, not re-exported here.
 * @example
 * import { Node, loadDistribution } from '@mcp0/sdk'
 * const node = await Node.start({ distribution: await loadDistribution('distributions/standard/build', { trust }), store: 'lmdb:./data' })
 */
export * from './store/index.js';
export * from './node/index.js';
export * from './roles/index.js';
export * from './distribution/index.js';
export * from './usage/index.js';
/**
 * The trace chain from the client's side: entry shapes, reading a chain, signed checkpoints,
 * batch proofs bound to a chain (`verifyTraceProof`) and proofs of a stored range
 * (`proveTraceRange`, which loads snarkjs only when it proves).
 * @example
 * const { event, head } = await node.roles.trace.get({ seq: 0 })
 */
export * from './trace/index.js';
