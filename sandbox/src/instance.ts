/**
 * One live Extism instance of a module, in either isolation tier, and the translation of
 * everything that can go wrong in a call into a typed error. Extism 1.0.3 enforces no limits, so
 * this file does: the worker tier (a guest thread of ours, worker/) races each call against a
 * timer and terminates the thread; the inline tier answers the deadline checks of preempt/. Both
 * cap the host memory a guest may allocate through `extism:host/env.alloc`.
 */
import createPlugin, { type CallContext, type Plugin } from '@extism/extism';
import { CallError, GUEST_EXPORTS, encodeCbor, errorFromWire, type CborValue } from '@mcp0/abi';
import { exactBytes } from './exact-bytes.js';
import { DEADLINE_IMPORT, DEFAULT_SLICE } from './preempt/instrument.js';
import { GuestFailure, GuestStartTimeout, GuestThread } from './worker/thread.js';

/** The isolation tier of a module (DESIGN §4). */
export type Tier = 'inline' | 'worker';

/** Host functions by import namespace, as Extism links them. */
export type HostFunctionTable = Record<string, Record<string, (ctx: CallContext, ...args: bigint[]) => unknown>>;

/** A log level of guest and Extism log lines. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Everything needed to create an instance. */
export interface InstanceOptions {
  name: string;
  /** Compiled with the memory cap already written into the module. */
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

const GUEST_ERROR_PREFIX = 'Plugin-originated error: ';
/** Longest guest error message passed on, in characters; the rest is cut. */
const MAX_GUEST_ERROR = 4096;

function clip(text: string): string {
  return text.length <= MAX_GUEST_ERROR ? text : `${text.slice(0, MAX_GUEST_ERROR)}… (${text.length - MAX_GUEST_ERROR} more characters cut)`;
}
/**
 * Starting a guest thread (a Node worker, Extism, instantiation) takes 50–100 ms on a loaded
 * machine, on top of the module's own start function, which gets the call timeout.
 */
const THREAD_START_MS = 10_000;
/** Extism's handle table is reset after this many calls or bytes in and out, whichever comes first. */
const RESET_EVERY_CALLS = 256;
const RESET_EVERY_BYTES = 1 << 20;

/** A created, initialised instance. Calls must be serialised by the caller. */
export class Instance {
  readonly #opts: InstanceOptions;
  /** The inline tier's plugin, on this thread. */
  readonly #plugin: Plugin | undefined;
  /** The worker tier's guest thread. */
  readonly #thread: GuestThread | undefined;
  readonly #memory: WebAssembly.Memory | undefined;
  /** The deadline the preempt checks compare against, moved forward at each call. */
  readonly #clock: { deadline: number; exportName: string };
  #hostBytes = 0;
  #hostBytesExceeded = false;
  #callsSinceReset = 0;
  #bytesSinceReset = 0;
  #dead = false;
  /** Why the guest thread ended by itself, once it has. */
  #died: Error | undefined;
  readonly #targets = new Map<string, [string, string]>();

  private constructor(opts: InstanceOptions, backend: Plugin | GuestThread, memory: WebAssembly.Memory | undefined, clock: { deadline: number; exportName: string }) {
    this.#opts = opts;
    if (backend instanceof GuestThread) this.#thread = backend;
    else this.#plugin = backend;
    this.#memory = memory;
    this.#clock = clock;
  }

  /** Create the Extism plugin or the guest thread (not yet initialised: see `init`). */
  static async create(opts: InstanceOptions): Promise<Instance> {
    const clock = { deadline: performance.now() + opts.timeoutMs, exportName: '(start)' };
    if (opts.tier === 'worker') {
      const startTimeoutMs = THREAD_START_MS + opts.timeoutMs;
      let instance: Instance | undefined;
      const onExit = (reason: Error) => {
        if (!instance) return; // still starting: start() rejects by itself
        instance.#dead = true;
        instance.#died = reason;
        opts.onDeath?.(instance);
      };
      const thread = await GuestThread.start({ compiled: opts.compiled, functions: opts.functions, hostBytesPerCall: opts.hostBytesPerCall, startTimeoutMs, onLog: opts.onLog, onExit }).catch((e: unknown) => {
        if (e instanceof GuestStartTimeout) throw new CallError('ETIMEOUT', `${opts.name}: did not start within ${startTimeoutMs} ms; the worker was terminated`, { timeoutMs: startTimeoutMs });
        throw new CallError('ETRAP', `${opts.name}: could not start: ${e instanceof Error ? e.message : String(e)}`);
      });
      return (instance = new Instance(opts, thread, undefined, clock));
    }
    let self: Instance | undefined;
    const functions = { ...opts.functions };
    // The start function runs inside createPlugin, so the first deadline is set before it.
    if (opts.preempt) {
      functions[DEADLINE_IMPORT.module] = {
        [DEADLINE_IMPORT.name]: () => {
          if (performance.now() > clock.deadline) {
            throw new CallError('ETIMEOUT', `${opts.name}/${clock.exportName}: no answer within ${opts.timeoutMs} ms; the call was preempted`, { timeoutMs: opts.timeoutMs });
          }
          return DEFAULT_SLICE;
        },
      };
    }
    // Extism's own alloc would let a guest allocate without bound on the host's heap.
    functions['extism:host/env'] = {
      alloc: (ctx: CallContext, n: bigint) => {
        if (self) self.#countAlloc(Number(n));
        return ctx.alloc(n);
      },
    };
    const logger = {
      debug: (m: string) => opts.onLog('debug', m),
      info: (m: string) => opts.onLog('info', m),
      warn: (m: string) => opts.onLog('warn', m),
      error: (m: string) => opts.onLog('error', m),
      trace: (m: string) => opts.onLog('debug', m),
    } as unknown as Console;
    const plugin = await createPlugin({ wasm: [{ module: opts.compiled, name: 'main' }] }, { useWasi: false, functions, logger });
    const memory = (await plugin.getInstance('main')).exports.memory as WebAssembly.Memory | undefined;
    self = new Instance(opts, plugin, memory, clock);
    return self;
  }

  /** Run `mcp0_init` with the module's config, when the module exports it. */
  async init(): Promise<void> {
    if (WebAssembly.Module.exports(this.#opts.compiled).some((e) => e.name === GUEST_EXPORTS.init)) {
      await this.call(GUEST_EXPORTS.init, encodeCbor(this.#opts.config));
    }
  }

  /** [module, export]: it skips Extism's per-call search of the module's exports by name. */
  #target(exportName: string): [string, string] {
    let t = this.#targets.get(exportName);
    if (!t) this.#targets.set(exportName, (t = ['main', exportName]));
    return t;
  }

  /** False once a timeout has terminated the instance, or its guest thread died. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** Why the guest thread ended by itself (crashed or killed from outside), if it did. */
  get died(): Error | undefined {
    return this.#died;
  }

  /** Current linear memory in pages (in the worker tier: as of the end of the last call). */
  get memoryPages(): number | undefined {
    if (this.#thread) return this.#thread.memoryBytes / 65536;
    return this.#memory ? this.#memory.buffer.byteLength / 65536 : undefined;
  }

  /**
   * Call an export with raw input bytes. Every failure is a CallError: the guest's own code,
   * ETIMEOUT, EMEMORY or ETRAP. After ETIMEOUT the instance is dead; after ETRAP it should be
   * replaced, since a trapped runtime may be corrupt. `startedAt` (performance.now()) saves the
   * caller's clock reading a second one.
   */
  async call(exportName: string, input: Uint8Array, startedAt = performance.now()): Promise<Uint8Array> {
    if (this.#dead) throw new CallError('ESTATE', `${this.#opts.name}: instance was terminated`);
    this.#hostBytes = 0;
    this.#hostBytesExceeded = false;
    if (this.#opts.preempt) {
      // The slice counter carries over between calls: a call may meet its first check early, which
      // is harmless, and not refilling it saves a WebAssembly.Global write per call.
      this.#clock.deadline = startedAt + this.#opts.timeoutMs;
      this.#clock.exportName = exportName;
    }
    if (this.#thread) {
      try {
        // A view of a larger buffer would carry the whole buffer across the thread boundary.
        return (await this.#withTimeout(this.#thread.call(exportName, exactBytes(input)), exportName)) ?? new Uint8Array(0);
      } catch (e) {
        throw this.#classify(e, exportName);
      }
    }
    const plugin = this.#plugin!;
    let moved = input.length;
    try {
      const output = await plugin.call(this.#target(exportName), exactBytes(input));
      const bytes = output === null ? new Uint8Array(0) : output.bytes();
      moved += bytes.length;
      return bytes;
    } catch (e) {
      throw this.#classify(e, exportName);
    } finally {
      this.#maybeReset(plugin, moved);
    }
  }

  async close(): Promise<void> {
    this.#dead = true;
    if (this.#thread) await this.#thread.terminate();
    else await this.#plugin!.close().catch(() => undefined);
  }

  #countAlloc(n: number): void {
    this.#hostBytes += n;
    if (this.#hostBytes > this.#opts.hostBytesPerCall) {
      this.#hostBytesExceeded = true;
      throw new RangeError(`host memory budget of ${this.#opts.hostBytesPerCall} bytes per call exceeded`);
    }
  }

  /**
   * Free Extism's handle table, which 1.0.3 otherwise grows for ever (it overflows after about 16k
   * calls). A reset is a promise, so it is amortised over calls, but soon enough that the retained
   * input and output blocks stay small. (The guest thread resets after every call by itself.)
   */
  #maybeReset(plugin: Plugin, bytesMoved: number): void {
    this.#bytesSinceReset += bytesMoved;
    if (++this.#callsSinceReset < RESET_EVERY_CALLS && this.#bytesSinceReset < RESET_EVERY_BYTES) return;
    this.#callsSinceReset = 0;
    this.#bytesSinceReset = 0;
    // In-process the reset is synchronous work behind an async signature.
    void plugin.reset();
  }

  async #withTimeout<T>(pending: Promise<T>, exportName: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#dead = true;
        void this.#thread?.terminate();
        reject(new CallError('ETIMEOUT', `${this.#opts.name}/${exportName}: no answer within ${this.#opts.timeoutMs} ms; the worker was terminated`, { timeoutMs: this.#opts.timeoutMs }));
      }, this.#opts.timeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #classify(e: unknown, exportName: string): CallError {
    if (e instanceof CallError) return e;
    const where = `${this.#opts.name}/${exportName}`;
    if (this.#died) return new CallError('ETRAP', `${where}: the worker thread died during the call (${this.#died.message})`, { trap: this.#died.message, workerDied: true });
    const message = e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
    if (message.startsWith(GUEST_ERROR_PREFIX)) {
      const body = message.slice(GUEST_ERROR_PREFIX.length);
      let wire: unknown = clip(body);
      try {
        // A guest's error is its own words, but not an unbounded amount of them. (Bodies are
        // bounded by the host memory budget; past 16 MiB they are not worth parsing.)
        if (body.length <= 16 << 20) {
          const parsed = JSON.parse(body) as { code?: unknown; message?: unknown };
          wire = typeof parsed?.message === 'string' ? { ...parsed, message: clip(parsed.message) } : parsed;
        }
      } catch {
        // A guest that does not follow the JSON convention still gets its text through, as EGUEST.
      }
      return errorFromWire(wire);
    }
    if (this.#hostBytesExceeded || (e instanceof GuestFailure && e.hostBytesExceeded)) {
      return new CallError('EMEMORY', `${where}: allocated more than ${this.#opts.hostBytesPerCall} bytes of host memory in one call`, { limit: this.#opts.hostBytesPerCall });
    }
    // AssemblyScript's allocator doubles memory and traps with `unreachable` when memory.grow
    // fails, so a trap with over half the cap in use is memory exhaustion. The guest thread reports
    // its memory with the failure, since this thread cannot see it.
    const memoryBytes = e instanceof GuestFailure ? e.memoryBytes : this.#memory?.buffer.byteLength ?? 0;
    if (memoryBytes * 2 > this.#opts.memoryPages * 65536) {
      return new CallError('EMEMORY', `${where}: reached the memory cap of ${this.#opts.memoryPages} pages (${message})`, { memoryPages: this.#opts.memoryPages });
    }
    return new CallError('ETRAP', `${where} trapped: ${message}`, { trap: message });
  }
}
