/**
 * One live instance of a module, whichever isolation tier runs it: the interface the kernel holds,
 * and the factory that picks its implementation once, by tier (as Extism's own foreground and
 * background plugins are one Plugin interface). Extism 1.0.3 enforces no limits, so the
 * implementations do: the worker tier (worker-instance.ts, over a guest thread of ours in worker/)
 * races each call against a timer and terminates the thread; the inline tier (inline-instance.ts)
 * answers the deadline checks that @mcp0/preempt inserts, and checks the deadline on entry to
 * every host function. Failures become typed errors in one place (failures.ts); the Extism
 * workarounds both tiers share (budget, handles, caps, buffers) are in extism/.
 */
import type { CborValue } from '@mcp0/abi';
import type { HostFunctionTable, LogLevel } from './extism/plugin.js';
import { InlineInstance } from './inline-instance.js';
import { WorkerInstance } from './worker-instance.js';

/** The isolation tier of a module (ABI.md §7, ARCHITECTURE.md §4). */
export type Tier = 'inline' | 'worker';

/** Everything needed to create an instance. */
export interface InstanceOptions {
  name: string;
  /** Compiled with the memory and table caps already written into the module. */
  compiled: WebAssembly.Module;
  tier: Tier;
  /** The module carries deadline checks (inline tier): they call back here to enforce timeoutMs. */
  preempt: boolean;
  memoryPages: number;
  timeoutMs: number;
  /** Host-side bytes a guest may allocate during one call. */
  hostBytesPerCall: number;
  functions: HostFunctionTable;
  config: CborValue;
  onLog(level: LogLevel, msg: string): void;
  /** Called when the instance's guest thread ends by itself (worker tier), whether or not a call was running. */
  onDeath?(instance: Instance): void;
}

/** A created instance (initialised once `init` has run). Calls must be serialised by the caller. */
export interface Instance {
  /** False once a timeout has terminated the instance, its guest thread died, or it was closed. */
  readonly alive: boolean;
  /** Why the guest thread ended by itself (crashed or killed from outside), if it did. */
  readonly died: Error | undefined;
  /** Current linear memory in pages (in the worker tier: as of the end of the last call). */
  readonly memoryPages: number;
  /** Run `mcp0_init` with the module's config, when the module exports it. */
  init(): Promise<void>;
  /**
   * Call an export with raw input bytes. Every failure is a CallError: the guest's own code,
   * ETIMEOUT, EMEMORY, ETOOBIG (Extism handles) or ETRAP. After ETIMEOUT in the worker tier the
   * instance is dead; after ETRAP it should be replaced, since a trapped runtime may be corrupt.
   * `startedAt` (performance.now()) saves the caller's clock reading a second one. The input is
   * never aliased into the guest, and the output is the caller's.
   */
  call(exportName: string, input: Uint8Array, startedAt?: number): Promise<Uint8Array>;
  /** Release the plugin or terminate the guest thread; the instance is dead afterwards. */
  close(): Promise<void>;
}

/**
 * Create the instance of `options.tier`: its start function runs now, under the call timeout;
 * `init` is left to the caller. Rejects with a CallError when the module cannot start.
 * @example
 * const instance = await createInstance({ name: 'acme.x', compiled, tier: 'worker', preempt: false, memoryPages: 256, timeoutMs: 1000, hostBytesPerCall: 1 << 24, functions, config: null, onLog })
 * await instance.init()
 * const out = await instance.call('greet', input)
 * await instance.close()
 */
export function createInstance(options: InstanceOptions): Promise<Instance> {
  return options.tier === 'worker' ? WorkerInstance.create(options) : InlineInstance.create(options);
}
