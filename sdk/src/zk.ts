/**
 * @mcp0/sdk/zk: Groth16 proofs over batches of trace entries (prove, verify, the bundled
 * development artifacts, the Solidity verifier). Loads snarkjs when a proof is made or checked.
 * @example
 * import { proveBatch, releaseZk } from '@mcp0/sdk/zk'
 * try { await proveBatch({ prevRoot: '0', events, costLimit: 10_000 }) } finally { await releaseZk() }
 */
export * from './zk/index.js';
