/**
 * @mcp0/kernel: the frozen core. Lifecycle, capabilities, the load checks, the ABI's host
 * functions, the operation pipeline and metering; nothing else. The isolation tiers that run a
 * module's instance are the mechanism under it, @mcp0/sandbox; stores are the SDK's.
 */
export { Kernel, DEFAULT_LIMITS, DEFAULT_CEILINGS, type Ceilings, type KernelOptions, type LoadOptions, type KernelEvents } from './kernel.js';
export { LoadedModule, type RunOptions } from './module.js';
export { verifyArtifact, DEFAULT_MEMORY_PAGES, type VerifiedModule, type VerifyOptions } from './verify.js';
export { CapabilitySet, effectiveCapabilities } from './capabilities.js';
// Re-exported from the sandbox, the mechanism under the kernel, so that no importer of the kernel breaks.
export { capMemory, DEFAULT_TABLE_ENTRIES, type Tier } from '@mcp0/sandbox';
// Re-exported so the kernel's public API is unchanged since the instrumentation became its own package.
export { instrumentDeadline, DEADLINE_IMPORT, SLICE_EXPORT, GROW_FAILED_EXPORT, DEFAULT_SLICE, InstrumentError, type InstrumentOptions } from '@mcp0/preempt';
export { Lifecycle, canTransition, DEFAULT_RESTART_POLICY, RestartBudget, type LifecycleState, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
export { Histogram, Meter, type ModuleMetrics } from './metering.js';
export { OperationRandom, type Operation } from './operation.js';
export { checkCutoff, cutoffError, cutoffReached, isCutoff, type Cutoff } from './cutoff.js';
export { type Pipeline, type ExecuteRequest, type ExecuteResult, type Outcome } from './pipeline.js';
export {
  systemClock,
  systemRandom,
  type Providers,
  type KvProvider,
  type BlockProvider,
  type NetProvider,
  type ClockProvider,
  type RandomProvider,
  type MaybePromise,
} from './providers.js';
export { type GuestLog, type GuestPanic } from './host-functions.js';
