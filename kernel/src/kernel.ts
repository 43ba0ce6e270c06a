/**
 * The kernel: loads signed modules under least privilege, runs them in their isolation tier,
 * routes host calls to providers and to other modules, runs the operation pipeline and meters
 * everything. It knows no plugin by name and no feature: storage, billing and networking are
 * providers or plugins.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ABI_NAMESPACE, CallError, GUEST_EXPORTS, LIMITS, UsageError, decodeCbor, encodeCbor, type CborValue, type Grant, type PublicKey } from '@mcp0/abi';
import { InstrumentError, instrumentDeadline, instrumentGrowWatch } from '@mcp0/preempt';
import { DEFAULT_TABLE_ENTRIES, type Tier } from '@mcp0/sandbox';
import { checkCutoff, type Cutoff } from './cutoff.js';
import { hostFunctions, type GuestLog, type GuestPanic } from './host-functions.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
import type { ModuleMetrics } from './metering.js';
import { LoadedModule, brokeInstance, type CallState } from './module.js';
import { OperationRandom, type Operation } from './operation.js';
import { runPipeline, type ExecuteRequest, type ExecuteResult, type Pipeline } from './pipeline.js';
import { checkInputSchema, checkOutputSchema } from './schemas.js';
import { systemClock, systemRandom, type Providers } from './providers.js';
import { DEFAULT_MEMORY_PAGES, verifyArtifact, type VerifiedModule } from './verify.js';

/** Kernel-wide settings. */
export interface KernelOptions {
  /** Publisher keys trusted to sign modules. */
  trust: readonly PublicKey[];
  providers?: Providers;
  restart?: Partial<RestartPolicy>;
  /** The most any module may get, whatever its manifest asks (default DEFAULT_CEILINGS). */
  ceilings?: Partial<Ceilings>;
}

/** Host limits that bound every manifest's own. */
export interface Ceilings {
  memoryPages: number;
  timeoutMs: number;
  /** Table entries over all of a module's tables (manifests cannot ask: only the host sets it). */
  tableEntries: number;
}

/** How one module is loaded. Unset limits come from the manifest, then from the defaults. */
export interface LoadOptions {
  /**
   * The instance's name, unique in the kernel (default: the manifest's name). Agents run one
   * instance per agent under the agent's id, from one artifact.
   */
  name?: string;
  /** Keys trusted for this load only, beside the kernel's (e.g. a stored agent's publisher). */
  trust?: readonly PublicKey[];
  grants?: readonly Grant[];
  /** Default: `worker` for agents, `inline` for plugins. */
  isolation?: Tier;
  /**
   * Inline tier: rewrite the module so loops and calls check the call's deadline (default true).
   * Turn it off only for trusted plugins whose hot loops cannot afford the checks (20-80% on
   * tight loops): a looping module then blocks the node.
   */
  preempt?: boolean;
  /** Passed to `mcp0_init` as CBOR. */
  config?: CborValue;
  /** Ceilings for this load, in place of the kernel's; a manifest may ask for less, never more. */
  memoryPages?: number;
  timeoutMs?: number;
  tableEntries?: number;
  maxInputBytes?: number;
  maxOutputBytes?: number;
  hostBytesPerCall?: number;
}

/** The kernel's events. */
export interface KernelEvents {
  transition: [TransitionEvent];
  log: [GuestLog];
  panic: [GuestPanic & { module: string }];
  emit: [{ module: string; topic: string; data: CborValue }];
  'hook-error': [{ module: string; hook: string; error: CallError }];
}

/** The state of a call from outside any module or operation. */
const ROOT: CallState = Object.freeze({ chain: [] as string[] });

/** What an instance name may be: it is a call target and a kv namespace. */
const INSTANCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Defaults for the limits of a call: what a module gets when its manifest does not say. */
export const DEFAULT_LIMITS = {
  memoryPages: DEFAULT_MEMORY_PAGES,
  timeoutMs: 5_000,
  maxInputBytes: 4 << 20,
  maxOutputBytes: 4 << 20,
  hostBytesPerCall: 64 << 20,
} as const;

/**
 * What a module gets at most unless the host raises it: 64 MiB and 10 s (the storage plugin asks
 * for both). A manifest asking more gets these, silently: limits are the host's to set.
 */
export const DEFAULT_CEILINGS: Ceilings = { memoryPages: 1024, timeoutMs: 10_000, tableEntries: DEFAULT_TABLE_ENTRIES };

/** Longest operation id and intent, in characters: they reach every hook and the trace. */
const MAX_OP_ID = 128;
/** The length of an operation's cause (ABI.md §5): a SHA-256. */
const CAUSE_BYTES = 32;

/** A cause that is not 32 bytes, described for the error: its length, or its type. */
function describeCause(cause: unknown): string {
  if (cause instanceof Uint8Array) return `${cause.length} bytes`;
  return cause === null ? 'null' : Array.isArray(cause) ? 'an array' : typeof cause;
}

/**
 * The MCP-ZERO kernel.
 * @example
 * const kernel = new Kernel({ trust: [publisher], providers: { kv: new MemoryStore().kv } }) // the kernel ships no store: this one is @mcp0/sdk's
 * await kernel.load(bytes, { grants: [parseGrant('kv:hello/')] })
 * const out = await kernel.callValue('mcp0.hello', 'count', { key: 'visits' })
 */
export class Kernel extends EventEmitter<KernelEvents> {
  readonly #trust: readonly PublicKey[];
  readonly #providers: Providers;
  readonly #restart: RestartPolicy;
  readonly #ceilings: Ceilings;
  readonly #modules = new Map<string, LoadedModule>();
  #pipeline: Pipeline = { admit: [], observe: [] };

  constructor(options: KernelOptions) {
    super();
    this.#trust = options.trust;
    this.#providers = options.providers ?? {};
    this.#restart = { ...DEFAULT_RESTART_POLICY, ...options.restart };
    this.#ceilings = { ...DEFAULT_CEILINGS, ...options.ceilings };
  }

  /**
   * Verify, instantiate, initialise and start a module. Throws a LoadError naming the failed check.
   * @example
   * const mod = await kernel.load(bytes, { isolation: 'worker', timeoutMs: 200 })
   */
  async load(bytes: Uint8Array, options: LoadOptions = {}): Promise<LoadedModule> {
    if (options.name !== undefined && !INSTANCE_NAME.test(options.name)) {
      throw new UsageError('EUSAGE', `instance name: expected 1-64 of [A-Za-z0-9._-] starting with a letter or digit, got ${JSON.stringify(options.name)}`, {
        name: options.name,
      });
    }
    const verified = await verifyArtifact(bytes, {
      trust: options.trust ? [...this.#trust, ...options.trust] : this.#trust,
      grants: options.grants ?? [],
      memoryPages: options.memoryPages ?? this.#ceilings.memoryPages,
      tableEntries: options.tableEntries ?? this.#ceilings.tableEntries,
    });
    const { manifest } = verified;
    const name = options.name ?? manifest.name;
    const tier = options.isolation ?? (manifest.kind === 'agent' ? 'worker' : 'inline');
    const preempt = tier === 'inline' && options.preempt !== false;
    // Inline modules get the deadline checks that preempt them; every module records its failed
    // memory.grows, so running out of the memory cap is EMEMORY rather than a bare trap.
    const compiled = preempt ? await WebAssembly.compile(instrumentDeadline(verified.capped)) : await growWatched(verified);
    const module = new LoadedModule(
      verified,
      {
        name,
        tier,
        compiled,
        preempt,
        timeoutMs: Math.min(options.timeoutMs ?? this.#ceilings.timeoutMs, manifest.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs),
        maxInputBytes: options.maxInputBytes ?? DEFAULT_LIMITS.maxInputBytes,
        maxOutputBytes: options.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes,
        hostBytesPerCall: options.hostBytesPerCall ?? DEFAULT_LIMITS.hostBytesPerCall,
        config: options.config ?? {},
        restart: this.#restart,
      },
      (m) => ({ [ABI_NAMESPACE]: hostFunctions(this.#hostEnv(m)) }),
      (e) => this.emit('transition', e),
      (level, msg) => this.emit('log', { module: name, level, msg }),
    );
    // Checked after the awaits above, so two concurrent loads of one module cannot both pass.
    if (this.#modules.has(module.name)) throw new UsageError('EUSAGE', `a module named ${module.name} is already loaded`, { module: module.name });
    this.#modules.set(module.name, module);
    try {
      await module.start();
    } catch (e) {
      this.#modules.delete(module.name);
      throw e;
    }
    return module;
  }

  /** The loaded module called `name`, or ENOTFOUND. */
  module(name: string): LoadedModule {
    const m = this.#modules.get(name);
    if (!m) throw new CallError('ENOTFOUND', `no module named ${JSON.stringify(name)} is loaded`, { module: name });
    return m;
  }

  /** Every loaded module. */
  modules(): LoadedModule[] {
    return [...this.#modules.values()];
  }

  /**
   * Call a service export with raw bytes; with a cutoff, a call still waiting for the module when
   * it comes never runs (ETIMEOUT, `isCutoff`).
   * @example
   * const out = await kernel.call('mcp0.hello', 'echo', new Uint8Array([1, 2, 3]))
   */
  async call(name: string, exportName: string, input: Uint8Array, cutoff?: Cutoff): Promise<Uint8Array> {
    return (await this.#invoke(name, exportName, input, cutoff === undefined ? ROOT : { chain: [], cutoff })).output;
  }

  /**
   * Call a service export with a value: CBOR in, CBOR out.
   * @example
   * await kernel.callValue('mcp0.hello', 'greet', { name: 'Ada' }) // → 'hello, Ada'
   */
  async callValue(name: string, exportName: string, value: CborValue, cutoff?: Cutoff): Promise<CborValue> {
    const output = await this.call(name, exportName, encodeCbor(value), cutoff);
    return output.length === 0 ? null : decodeCbor(output);
  }

  /**
   * Route a call to a module's export. Not async: on the hot path every promise layer costs. An
   * export with JSON Schemas (ABI 1.3) has its input checked here (unless the operation checked
   * it already, before its hooks) and its output after the call.
   */
  #invoke(name: string, exportName: string, input: Uint8Array, state: CallState, allowHook = false, inputChecked = false) {
    const module = this.module(name);
    const listed = module.exportNames.has(exportName) || (allowHook && Object.values(GUEST_EXPORTS).includes(exportName as never));
    if (!listed) {
      throw new CallError(
        'ENOTFOUND',
        `${name} has no export ${JSON.stringify(exportName)} (exports: ${module.manifest.exports.map((e) => e.name).join(', ') || 'none'})`,
        { module: name, export: exportName },
      );
    }
    const next =
      state === ROOT
        ? module.rootState
        : { op: state.op, randoms: state.randoms, chain: [...state.chain, name], ...(state.cutoff === undefined ? {} : { cutoff: state.cutoff }) };
    const checks = module.schemaChecks(exportName);
    if (checks === undefined) return module.invoke(exportName, input, next);
    const where = `${name}/${exportName}`;
    if (!inputChecked) checkInputSchema(checks, where, input, { module: name, export: exportName });
    const running = module.invoke(exportName, input, next);
    if (checks.output === undefined) return running;
    return running.then((r) => {
      checkOutputSchema(checks, where, r.output, r.cost, { module: name, export: exportName });
      return r;
    });
  }

  /** Set the admit and observe hook order (module names). */
  setPipeline(pipeline: Pipeline): void {
    for (const [hook, names] of Object.entries(pipeline) as [keyof Pipeline, string[]][]) {
      for (const name of names) {
        const m = this.module(name);
        if (!(m.manifest.hooks ?? []).includes(hook)) throw new UsageError('EUSAGE', `${name} does not declare the ${hook} hook`, { module: name, hook });
      }
    }
    this.#pipeline = { admit: [...pipeline.admit], observe: [...pipeline.observe] };
  }

  /**
   * Run one operation through the pipeline: admit hooks in order, the agent's export, observe hooks.
   * @example
   * const { output, outcome } = await kernel.execute({ agent: 'acme.notes', intent: 'remember', input })
   */
  async execute(request: ExecuteRequest): Promise<ExecuteResult> {
    const op = this.#operation(request);
    const cutoff = checkCutoff(request);
    // One random stream per module for the whole operation: its admit, export and observe calls
    // continue it rather than each restarting it.
    const state: CallState = { op, chain: [], randoms: new Map(), ...(cutoff === undefined ? {} : { cutoff }) };
    // Observe hooks are never cut: once the export ran (or was refused), the trace and the bill
    // must record it whether or not the caller still waits.
    const observing: CallState = { op, chain: [], randoms: state.randoms! };
    return runPipeline(this.#pipeline, op, request.input, {
      hook: (name, hook, input) => this.#invoke(name, GUEST_EXPORTS[hook], input, hook === 'observe' ? observing : state, true).then((r) => r.output),
      // The input was checked against the intent's schema in #operation, before any hook.
      execute: (input) => this.#invoke(op.agent, op.intent, input, state, false, true),
      hookError: (module, hook, error) => this.emit('hook-error', { module, hook, error }),
    });
  }

  /**
   * The operation a request describes, checked before any hook sees it: the agent is loaded, the
   * intent is one of its exports, the input within its limit and (ABI 1.3) its schema, the id and
   * time well formed. A
   * replay (an id given) must carry its logical time, or it would not replay.
   */
  #operation(request: ExecuteRequest): Operation {
    const { agent, intent, input, id, time, cause } = request;
    const module = this.module(agent);
    if (typeof intent !== 'string' || !module.exportNames.has(intent)) {
      const shown = typeof intent === 'string' ? JSON.stringify(intent.slice(0, 64)) + (intent.length > 64 ? '…' : '') : typeof intent;
      throw new CallError('ENOTFOUND', `${agent} has no export ${shown} to serve as an intent`, { module: agent });
    }
    if (!(input instanceof Uint8Array)) throw new UsageError('EUSAGE', `input: expected bytes, got ${typeof input}`);
    if (input.length > module.options.maxInputBytes) {
      throw new CallError('ETOOBIG', `${agent}/${intent}: input is ${input.length} bytes, the limit is ${module.options.maxInputBytes}`, {
        limit: module.options.maxInputBytes,
        got: input.length,
      });
    }
    if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > MAX_OP_ID)) {
      throw new UsageError('EUSAGE', `operation id: expected 1-${MAX_OP_ID} characters, got ${typeof id === 'string' ? `${id.length}` : typeof id}`);
    }
    if (id !== undefined && time === undefined) throw new UsageError('EUSAGE', `operation ${id}: a replay needs the operation's logical time`, { id });
    if (time !== undefined && !(Number.isSafeInteger(time) && time >= 0))
      throw new UsageError('EUSAGE', `operation time: expected a non-negative integer of ms, got ${time}`);
    if (cause !== undefined && !(cause instanceof Uint8Array && cause.length === CAUSE_BYTES)) {
      throw new UsageError('EUSAGE', `operation cause: expected ${CAUSE_BYTES} bytes (a SHA-256), got ${describeCause(cause)}`, {
        expected: CAUSE_BYTES,
        got: cause instanceof Uint8Array ? cause.length : typeof cause,
      });
    }
    // ABI 1.3: an input that breaks the intent's schema is refused before any hook sees it. The
    // operation never began, so nothing observes it, as for the checks above.
    checkInputSchema(module.schemaChecks(intent), `${agent}/${intent}`, input, { module: agent, export: intent });
    return {
      id: id ?? randomUUID(),
      agent,
      intent,
      time: time ?? this.#now(),
      // A copy (a Buffer's slice would share memory): hooks run later, and the caller's bytes may change meanwhile.
      ...(cause === undefined ? {} : { cause: new Uint8Array(cause) }),
    };
  }

  /** Metering per module. */
  metrics(): Record<string, ModuleMetrics & { state: string; tier: Tier }> {
    return Object.fromEntries(this.modules().map((m) => [m.name, { ...m.meter.snapshot(), state: m.state, tier: m.options.tier }]));
  }

  /** Stop and forget one module. */
  async unload(name: string): Promise<void> {
    const m = this.module(name);
    await m.stop();
    this.#modules.delete(name);
  }

  /** Stop every module, in reverse load order. */
  async stop(): Promise<void> {
    for (const m of this.modules().reverse()) await this.unload(m.name);
  }

  #now(): number {
    return (this.#providers.clock ?? systemClock).now();
  }

  #hostEnv(module: LoadedModule) {
    return {
      module: module.name,
      caps: module.verified.capabilities,
      providers: this.#providers,
      kv: module.verified.manifest.kind === 'agent' ? this.#providers.agentKv : this.#providers.kv,
      async: module.options.tier === 'worker',
      now: () => module.current.op?.time ?? this.#now(),
      random: (n: number) => {
        const { op, randoms } = module.current;
        if (!op || !randoms) return (this.#providers.random ?? systemRandom).bytes(n);
        let r = randoms.get(module.name);
        if (!r) randoms.set(module.name, (r = new OperationRandom(op.id, module.name)));
        return r.bytes(n);
      },
      log: (entry: GuestLog) => this.emit('log', entry),
      panic: (info: GuestPanic) => this.emit('panic', { ...info, module: module.name }),
      emit: (topic: string, data: CborValue) => this.emit('emit', { module: module.name, topic, data }),
      call: (target: string, exportName: string, input: Uint8Array) => this.#call(module, target, exportName, input),
    };
  }

  /**
   * A module's `call` of another's export. Agents are reached only as operations (their admit
   * hooks, their state): never this way. A call that would close a cycle of modules waiting on
   * each other (A → B while B → A, through any number of modules and call trees) is refused with
   * EBUSY instead of deadlocking. A callee that traps or times out is replaced, and the failure
   * counts against the caller.
   */
  async #call(caller: LoadedModule, target: string, exportName: string, input: Uint8Array): Promise<Uint8Array> {
    const state = caller.current;
    const callee = this.module(target);
    if (callee.manifest.kind === 'agent') {
      throw new CallError('EPERM', `${caller.name} → ${target}: ${target} is an agent; agents are reached through operations (kernel.execute), not call`, {
        capability: 'call',
        target,
      });
    }
    if (state.chain.length >= LIMITS.callDepth) throw new CallError('ETOOBIG', `call depth over ${LIMITS.callDepth}`, { chain: state.chain });
    const cycle = [caller.name];
    // Bounded: the graph has no cycle (this check refuses every edge that would close one).
    for (let m: LoadedModule | undefined = callee; m && cycle.length <= this.#modules.size + 1; m = m.waitingFor) {
      cycle.push(m.name);
      if (m === caller) throw new CallError('EBUSY', `${caller.name} → ${target}: call cycle (${cycle.join(' → ')}); waiting would deadlock`, { cycle });
    }
    caller.waitingFor = callee;
    try {
      return (await this.#invoke(target, exportName, input, state)).output;
    } catch (e) {
      if (e instanceof CallError && brokeInstance(e)) caller.chargeCalleeFailure();
      throw e;
    } finally {
      caller.waitingFor = undefined;
    }
  }
}

/**
 * The module with its memory.grows watched; as it is when the instrumenter does not support its
 * code (exception handling, say), which the worker tier runs all the same: its traps at the memory
 * cap are then told apart by how much memory is in use (sandbox failures.ts).
 */
async function growWatched(verified: VerifiedModule): Promise<WebAssembly.Module> {
  let watched: Uint8Array<ArrayBuffer>;
  try {
    watched = instrumentGrowWatch(verified.capped);
  } catch (e) {
    if (e instanceof InstrumentError) return verified.compiled;
    throw e;
  }
  return WebAssembly.compile(watched);
}
