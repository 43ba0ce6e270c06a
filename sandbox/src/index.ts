/**
 * @mcp0/sandbox: the isolation tiers. Everything that runs one module instance under limits over
 * Extism 1.0.3: the inline tier (the host's thread, preempted through @mcp0/preempt's deadline
 * checks) and the worker tier (a guest thread of ours, terminated on timeout), behind one
 * `Instance` interface chosen once by `createInstance`; and the workarounds Extism 1.0.3 needs
 * (host memory budget, handle reuse, memory and table caps, exact buffers, its guest-error wording).
 *
 * Why it is not in the kernel: the kernel is the frozen policy (lifecycle, capabilities, the ABI's
 * host functions, the operation pipeline, metering, load checks); this package is the mechanism,
 * tied to one Extism version and expected to change with it, so it must not sit inside what is
 * frozen (as wasmtime keeps its runtime crates apart from the embedding API).
 */
export { createInstance, type Instance, type InstanceOptions, type Tier } from './instance.js';
export { InlineInstance } from './inline-instance.js';
export { WorkerInstance, INSTANTIATION_SLACK_MS } from './worker-instance.js';
export type { CallContext } from '@extism/extism';
export type { HostFunctionTable, LogLevel } from './extism/plugin.js';
export { AllocationBudget, LimitError } from './extism/budget.js';
export { capMemory, DEFAULT_TABLE_ENTRIES } from './extism/memory-cap.js';
export { exactBytes } from './extism/exact-bytes.js';
export { GuestThread, GuestFailure, GuestStartTimeout, THREAD_START_MS, type GuestThreadOptions, type HostFn } from './worker/thread.js';
export { ProxyContext } from './worker/proxy-context.js';
