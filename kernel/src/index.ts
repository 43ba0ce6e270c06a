/**
 * @mcp0/kernel: the frozen core. Lifecycle, capabilities, loading and isolating signed modules,
 * the operation pipeline and metering; nothing else.
 */
export { Kernel, DEFAULT_LIMITS, type KernelOptions, type LoadOptions, type KernelEvents } from './kernel.js';
export { LoadedModule, type RunOptions } from './module.js';
export { verifyArtifact, DEFAULT_MEMORY_PAGES, type VerifiedModule, type VerifyOptions } from './verify.js';
export { CapabilitySet, effectiveCapabilities } from './capabilities.js';
export { capMemory } from './memory-cap.js';
export { instrumentDeadline, DEADLINE_IMPORT, SLICE_EXPORT, DEFAULT_SLICE, InstrumentError, type InstrumentOptions } from './preempt/instrument.js';
export { Lifecycle, canTransition, DEFAULT_RESTART_POLICY, RestartBudget, type LifecycleState, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
export { Histogram, Meter, costUnits, type ModuleMetrics } from './metering.js';
export { OperationRandom, type Operation } from './operation.js';
export { type Pipeline, type ExecuteRequest, type ExecuteResult, type Outcome } from './pipeline.js';
export { MemoryKv, systemClock, systemRandom, type Providers, type KvProvider, type BlockProvider, type NetProvider, type ClockProvider, type RandomProvider, type MaybePromise } from './providers.js';
export { type Tier } from './instance.js';
export { type GuestLog, type GuestPanic } from './host-functions.js';
