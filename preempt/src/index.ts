/**
 * @mcp0/preempt: deadline instrumentation for WebAssembly guests run in-process. Kept outside the
 * kernel (as wasmtime keeps its instrumentation outside the runtime) so the rewriter can be
 * reviewed, tested and benchmarked on its own; the kernel only calls `instrumentDeadline` and
 * answers the deadline import.
 */
export {
  DEADLINE_IMPORT,
  DEFAULT_SLICE,
  GROW_FAILED_EXPORT,
  InstrumentError,
  SLICE_EXPORT,
  instrumentDeadline,
  instrumentGrowWatch,
  type InstrumentDetails,
  type InstrumentOptions,
  type InstrumentReason,
} from './instrument.js';
