/** Zero-knowledge batch proofs for the trace chain: prove, verify, export a Solidity verifier. */
export * from './trace-batch.js';
