/**
 * Extism 1.0.3's handle table (its CallContext), kept finite and private to one call. A handle is
 * `index << 48`, and the table only grows: `free` empties a slot but never gives its index back,
 * and from index 2^15 on a handle is a negative i64 that comes back from the guest as garbage
 * ("cannot assign to this block"). Each host call takes two indices (the request the guest
 * allocates, the response the host stores), so a call overflowed after about 16,000 host calls.
 * The guest library frees both (abi/as/host.ts `send`), so reusing freed indices lets a call make
 * any number of host calls; a guest that keeps 2^15 blocks alive fails that call with ETOOBIG.
 * The table is emptied after every call: measured, that costs no more than resetting every 256
 * calls and copying the output, and nothing of a call (blocks it leaked, its output) outlives it.
 *
 * The context is private to Extism. Its host functions are bound to it with `.bind`, which is how
 * it is captured; its own methods (store, block, call frame, state import, reset) are reached
 * through their symbols, and a missing one fails loudly. Calls go straight to the export, without
 * Extism's `call` (an async layer and an output object per call, a third of an inline call).
 */
import type { CallContext } from '@extism/extism';
import { AllocationBudget, LimitError } from './budget.js';
import { exactBytes } from './exact-bytes.js';

/** Indices from here on make negative handles. */
const MAX_INDEX = 1 << 15;
const MAX_HANDLE = BigInt(MAX_INDEX) << 48n;

/** The CallContext methods used here, by their symbols' descriptions. */
const METHODS = ['store-value', 'get-block', 'begin', 'end', 'import-state', 'export-state', 'reset'] as const;
type Frame = [number | null, number | null, number | null];
type Internals = {
  'store-value'(input: Uint8Array): number;
  'get-block'(index: number): { buffer: ArrayBuffer };
  begin(input: number): void;
  end(): [error: number | null, output: number | null];
  'import-state'(state: { blocks: [ArrayBuffer | null, number][]; stack: Frame[] }): void;
  'export-state'(): { stack: Frame[] };
  reset(): void;
};

const indexOf = (addr: bigint) => Number(BigInt.asUintN(64, BigInt(addr)) >> 48n);

/**
 * The handle table of one plugin: the allocation budget, index reuse, the host call count.
 * @example
 * const handles = new Handles(64 << 20)
 * const plugin = await createPlugin(wasm, { functions: { ...handles.wrap(table), 'extism:host/env': handles.env } })
 * handles.begin(); const [error, output] = handles.run(fn, input); handles.reset()
 */
export class Handles {
  readonly budget: AllocationBudget;
  /** Host calls in the current call, for the message when the table runs out. */
  hostCalls = 0;
  /** Set when the current call used up the table. */
  exhausted: LimitError | undefined;
  #ctx: CallContext | undefined;
  #x!: Internals;
  /** Extism's call stack: the state import replaces it, so it is handed the live one. */
  #stack!: Frame[];
  readonly #free: number[] = [];

  /** `onInstantiate` is called when Extism has bound its host functions, just before it instantiates the module. */
  constructor(hostBytesPerCall: number, onInstantiate?: () => void) {
    this.budget = new AllocationBudget(hostBytesPerCall);
    // Extism binds every host function to its context (`fn.bind(null, context)`): ours says which.
    const alloc = this.env.alloc;
    Object.defineProperty(alloc, 'bind', {
      value: (self: unknown, ctx: CallContext) => {
        if (this.#capture(ctx)) onInstantiate?.();
        return Function.prototype.bind.call(alloc, self, ctx);
      },
    });
  }

  /** The limit a failed call ran into, if any. */
  get failure(): LimitError | undefined {
    return this.exhausted ?? this.budget.exceeded;
  }

  /** A new call (or instantiation). */
  begin(): void {
    this.budget.begin();
    this.hostCalls = 0;
    this.exhausted = undefined;
  }

  /**
   * Run an export on `input` (which becomes the guest's: pass a copy). Returns the buffers of the
   * guest's error and output blocks; the caller resets the table afterwards.
   */
  run(fn: () => unknown, input: Uint8Array): [error: ArrayBuffer | null, output: ArrayBuffer | null] {
    const x = this.#x;
    x.begin(x['store-value'](input));
    let ended = false;
    try {
      fn();
      ended = true;
      const [error, output] = x.end();
      return [error === null ? null : x['get-block'](error).buffer, output === null ? null : x['get-block'](output).buffer];
    } finally {
      if (!ended) x.end();
    }
  }

  /** Empty the table: the call's blocks, its input and output included, are out of the guest's reach. */
  reset(): void {
    this.#free.length = 0;
    this.#x.reset();
  }

  /** Our `extism:host/env.alloc` and `free`: charged, and reusing freed indices. */
  readonly env = {
    alloc: (ctx: CallContext, n: bigint): bigint => {
      this.budget.charge(Number(n));
      const reused = this.#free.pop();
      return reused === undefined ? this.#checked(ctx.alloc(n)) : this.#write(new ArrayBuffer(Number(n)), reused);
    },
    free: (ctx: CallContext, addr: bigint): void => {
      // Only a live block's index is recycled (a double free would hand one index out twice). An
      // empty block stays until the call ends: its length cannot tell it from a freed one.
      const i = indexOf(addr);
      if (i === 0 || i >= MAX_INDEX || ctx.length(addr) === 0n) return;
      this.#write(null, i);
      this.#free.push(i);
    },
  };

  /** Host functions that count as host calls (and store through the budget: see `#capture`). */
  wrap<F extends (ctx: CallContext, ...args: bigint[]) => unknown>(
    table: Record<string, Record<string, F>>,
    onCall?: () => void,
  ): Record<string, Record<string, F>> {
    const out: Record<string, Record<string, F>> = {};
    for (const [ns, fns] of Object.entries(table)) {
      out[ns] = Object.fromEntries(
        Object.entries(fns).map(([name, fn]) => [
          name,
          ((ctx: CallContext, ...args: bigint[]) => {
            this.hostCalls++;
            onCall?.();
            return fn(ctx, ...args);
          }) as F,
        ]),
      );
    }
    return out;
  }

  /** A store by a host function: charged, at a freed index when there is one. */
  #store(ctx: CallContext, input: string | Uint8Array, store: CallContext['store']): bigint {
    const bytes = exactBytes(typeof input === 'string' ? new TextEncoder().encode(input) : input);
    this.budget.charge(bytes.length);
    const reused = this.#free.pop();
    return reused === undefined ? this.#checked(store.call(ctx, bytes)) : this.#write(bytes.buffer as ArrayBuffer, reused);
  }

  /** A handle Extism just made at the end of the table, refused from the index where handles turn negative. */
  #checked(addr: bigint): bigint {
    if (addr < MAX_HANDLE) return addr;
    this.exhausted ??= new LimitError(
      'ETOOBIG',
      `kept ${MAX_INDEX - 1} Extism blocks alive in one call (after ${this.hostCalls} host calls): free request and response handles`,
      { limit: MAX_INDEX - 1, hostCalls: this.hostCalls },
    );
    throw this.exhausted;
  }

  #write(buffer: ArrayBuffer | null, index: number): bigint {
    this.#x['import-state']({ blocks: [[buffer, index]], stack: this.#stack });
    return BigInt(index) << 48n;
  }

  /** The plugin's context, as Extism binds it (before instantiation): find its methods, take over `store`. True the first time. */
  #capture(ctx: CallContext): boolean {
    if (this.#ctx === ctx) return false;
    this.#ctx = ctx;
    const proto = Object.getPrototypeOf(ctx) as object;
    const symbols = Object.getOwnPropertySymbols(proto);
    const x = {} as Record<string, unknown>;
    for (const name of METHODS) {
      const s = symbols.find((y) => y.description === name);
      if (!s) throw new Error(`Extism's CallContext has no ${name} method: @mcp0/sandbox's workarounds need Extism 1.0.3`);
      x[name] = (ctx as unknown as Record<symbol, (...a: unknown[]) => unknown>)[s]!.bind(ctx);
    }
    this.#x = x as unknown as Internals;
    this.#stack = this.#x['export-state']().stack;
    this.#x['import-state']({ blocks: [], stack: this.#stack });
    const store = ctx.store;
    ctx.store = (input) => this.#store(ctx, input, store);
    return true;
  }

  /** True once Extism has bound the host functions to its context. */
  get captured(): boolean {
    return this.#ctx !== undefined;
  }
}
