/**
 * Extism 1.0.3's in-process plugin as both tiers run it (the inline tier on the host's thread, the
 * worker tier in a guest thread of ours): allocation budget and handle reuse wired in, open from
 * before instantiation so a start function is counted, and the table emptied after every call, so
 * the guest never keeps a block (its output included) past the call.
 */
import createPlugin, { type CallContext, type Plugin } from '@extism/extism';
import { LimitError } from './budget.js';
import { exactBytes } from './exact-bytes.js';
import { Handles } from './handles.js';

/** Host functions by import namespace, as Extism links them. */
export type HostFunctionTable = Record<string, Record<string, (ctx: CallContext, ...args: bigint[]) => unknown>>;

/** A log level of guest and Extism log lines. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What a guest plugin is made of. */
export interface GuestPluginOptions {
  /** The instance's name, for error messages. */
  name: string;
  compiled: WebAssembly.Module;
  /** Host functions: each call is counted, and what it stores is charged to the budget. */
  functions: HostFunctionTable;
  /** Imports linked as they are (the inline tier's deadline check). */
  internal?: HostFunctionTable;
  hostBytesPerCall: number;
  /** Called on entry to every host function (the inline tier checks the deadline). */
  onHostCall?(): void;
  /** Called just before the module is instantiated (the worker tier times instantiation from here). */
  onInstantiate?(): void;
  onLog(level: LogLevel, msg: string): void;
  /**
   * The name of the exported global the module sets when a memory.grow fails (@mcp0/preempt's
   * GROW_FAILED_EXPORT, given by the caller: this file also runs in the guest thread, which loads
   * nothing of the project's packages).
   */
  growFlag?: string;
}

const utf8 = new TextDecoder();

/** How Extism words a guest's error; kept by our direct calls, and parsed by errors.ts (on the main thread). */
export const GUEST_ERROR_PREFIX = 'Plugin-originated error: ';

/**
 * @example
 * const guest = await GuestPlugin.create({ name: 'acme.x', compiled, functions, hostBytesPerCall: 64 << 20, onLog })
 * const out = guest.call('greet', input)
 */
export class GuestPlugin {
  readonly #name: string;
  readonly #plugin: Plugin;
  readonly #handles: Handles;
  readonly #exports: WebAssembly.Exports;
  readonly #growFlag: string | undefined;

  private constructor(name: string, plugin: Plugin, handles: Handles, exports: WebAssembly.Exports, growFlag: string | undefined) {
    this.#name = name;
    this.#plugin = plugin;
    this.#handles = handles;
    this.#exports = exports;
    this.#growFlag = growFlag;
  }

  /** Instantiate (running the start function). Throws a LimitError for a limit the start function ran into. */
  static async create(opts: GuestPluginOptions): Promise<GuestPlugin> {
    const handles = new Handles(opts.hostBytesPerCall, opts.onInstantiate);
    const functions = { ...handles.wrap(opts.functions, opts.onHostCall), ...opts.internal };
    functions['extism:host/env'] = { ...functions['extism:host/env'], ...handles.env };
    const log = (level: LogLevel) => (m: unknown) => opts.onLog(level, String(m));
    const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), trace: log('debug') } as unknown as Console;
    handles.begin();
    let plugin: Plugin;
    try {
      plugin = await createPlugin({ wasm: [{ module: opts.compiled, name: 'main' }] }, { useWasi: false, runInWorker: false, functions, logger });
    } catch (e) {
      throw limitError(handles, `${opts.name}/(start)`) ?? e;
    }
    if (!handles.captured) throw new Error("Extism did not bind its host functions to its context: @mcp0/sandbox's workarounds need Extism 1.0.3");
    handles.reset();
    return new GuestPlugin(opts.name, plugin, handles, (await plugin.getInstance('main')).exports, opts.growFlag);
  }

  /** Linear memory in bytes. */
  get memoryBytes(): number {
    return (this.#exports.memory as WebAssembly.Memory | undefined)?.buffer.byteLength ?? 0;
  }

  /**
   * Whether a memory.grow of the guest failed since this was last asked (it clears the flag):
   * known for a module instrumented by @mcp0/preempt, which exports the flag, else undefined.
   * Read after a failed call only, so calls pay nothing for it; a failed grow the guest survived
   * leaves the flag set, and a later trap counts as memory exhaustion, which near the cap it is.
   */
  takeGrowFailed(): boolean | undefined {
    const flag = this.#growFlag === undefined ? undefined : (this.#exports[this.#growFlag] as WebAssembly.Global | undefined);
    if (flag === undefined) return undefined;
    const failed = flag.value === 1;
    flag.value = 0;
    return failed;
  }

  /**
   * Run an export. `input` becomes the guest's, to read and write: pass a buffer no one else holds.
   * The output (null when none is set) belongs to the caller. Throws a LimitError for a limit the
   * call ran into, else what the guest threw (a trap, or its error as Extism words it: errors.ts).
   */
  call(exportName: string, input: Uint8Array): Uint8Array | null {
    const fn = this.#exports[exportName];
    if (typeof fn !== 'function') throw new Error(`${this.#name}: function "${exportName}" does not exist`);
    const handles = this.#handles;
    handles.begin();
    try {
      const [error, output] = handles.run(fn as () => unknown, exactBytes(input));
      if (error !== null) throw new Error(GUEST_ERROR_PREFIX + utf8.decode(error));
      // Its block leaves the table below, so nothing but the caller can reach these bytes.
      return output === null ? null : new Uint8Array(output);
    } catch (e) {
      throw limitError(handles, `${this.#name}/${exportName}`) ?? e;
    } finally {
      handles.reset();
    }
  }

  async close(): Promise<void> {
    await this.#plugin.close().catch(() => undefined);
  }
}

function limitError(handles: Handles, where: string): LimitError | undefined {
  const limit = handles.failure;
  return limit && new LimitError(limit.code, `${where}: ${limit.message}`, limit.details);
}
