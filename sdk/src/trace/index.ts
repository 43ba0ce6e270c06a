/**
 * The trace chain from the client's side: its entries, reading it from a store or a node, signed
 * checkpoints of its head, and batch proofs of a stored range (`proveTraceRange`) bound to it.
 */
/** The trace role's entry and event, as its contract (abi/schema/roles/trace.schema.json) types them. */
export type { TraceEvent, TraceEntry } from '@mcp0/abi';
export {
  TRACE_NAMESPACE,
  TRACE_HEAD_KEY,
  MAX_CHAIN_COST,
  traceEntryKey,
  readTraceHead,
  readTraceEntry,
  kvTraceChain,
  nodeTraceChain,
  chainCost,
  type TraceHead,
  type TraceChainEntry,
  type TraceChainView,
  type TraceRoleCaller,
} from './chain.js';
export {
  CHECKPOINT_TYPE,
  CHECKPOINT_PREFIX,
  LATEST_CHECKPOINT_KEY,
  CheckpointError,
  CheckpointLog,
  checkpointKey,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointBody,
  type TraceCheckpoint,
} from './checkpoint.js';
export { TraceProofError, parseTraceProofFile, verifyTraceProof, type TraceProofBinding, type TraceProofFile, type VerifiedTraceProof } from './proof.js';
export { TRACE_PROVE_NAMES, parseCostLimit, traceCostLimit, type TraceCostLimit, type TraceProveNames } from './limit.js';
export { checkTraceRange, proveTraceRange, type ProveTraceRangeEvent, type ProveTraceRangeOptions, type TraceRangeProof } from './prove.js';
