/**
 * The kernel: loads signed modules under least privilege, runs them in their isolation tier,
 * routes host calls to providers and to other modules, runs the operation pipeline and meters
 * everything. It knows no plugin by name and no feature: storage, billing and networking are
 * providers or plugins.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { ABI_NAMESPACE, CallError, GUEST_EXPORTS, LIMITS, UsageError, decodeCbor, encodeCbor, type CborValue, type Grant, type PublicKey } from '@mcp0/abi';
import { hostFunctions, type GuestLog, type GuestPanic } from './host-functions.js';
import { DEFAULT_RESTART_POLICY, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
import type { ModuleMetrics } from './metering.js';
import { LoadedModule, type CallState } from './module.js';
import { OperationRandom } from './operation.js';
import { runPipeline, type ExecuteRequest, type ExecuteResult, type Pipeline } from './pipeline.js';
import { systemClock, systemRandom, type Providers } from './providers.js';
import { verifyArtifact } from './verify.js';
import { instrumentDeadline } from './preempt/instrument.js';
import type { Tier } from './instance.js';

/** Kernel-wide settings. */
export interface KernelOptions {
  /** Publisher keys trusted to sign modules. */
  trust: readonly PublicKey[];
  providers?: Providers;
  restart?: Partial<RestartPolicy>;
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
  /** Host ceilings; a manifest may ask for less, never more. */
  memoryPages?: number;
  timeoutMs?: number;
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

/** Defaults for the limits of a call. */
export const DEFAULT_LIMITS = {
  timeoutMs: 5_000,
  maxInputBytes: 4 << 20,
  maxOutputBytes: 4 << 20,
  hostBytesPerCall: 64 << 20,
} as const;

/**
 * The MCP-ZERO kernel.
 * @example
 * const kernel = new Kernel({ trust: [publisher], providers: { kv: new MemoryKv() } })
 * await kernel.load(bytes, { grants: [parseGrant('kv:hello/')] })
 * const out = await kernel.callValue('mcp0.hello', 'count', { key: 'visits' })
 */
export class Kernel extends EventEmitter<KernelEvents> {
  readonly #trust: readonly PublicKey[];
  readonly #providers: Providers;
  readonly #restart: RestartPolicy;
  readonly #modules = new Map<string, LoadedModule>();
  #pipeline: Pipeline = { admit: [], observe: [] };

  constructor(options: KernelOptions) {
    super();
    this.#trust = options.trust;
    this.#providers = options.providers ?? {};
    this.#restart = { ...DEFAULT_RESTART_POLICY, ...options.restart };
  }

  /**
   * Verify, instantiate, initialise and start a module. Throws a LoadError naming the failed check.
   * @example
   * const mod = await kernel.load(bytes, { isolation: 'worker', timeoutMs: 200 })
   */
  async load(bytes: Uint8Array, options: LoadOptions = {}): Promise<LoadedModule> {
    if (options.name !== undefined && !INSTANCE_NAME.test(options.name)) {
      throw new UsageError('EUSAGE', `instance name: expected 1-64 of [A-Za-z0-9._-] starting with a letter or digit, got ${JSON.stringify(options.name)}`, { name: options.name });
    }
    const verified = await verifyArtifact(bytes, {
      trust: options.trust ? [...this.#trust, ...options.trust] : this.#trust,
      grants: options.grants ?? [],
      ...(options.memoryPages === undefined ? {} : { memoryPages: options.memoryPages }),
    });
    const { manifest } = verified;
    const name = options.name ?? manifest.name;
    const tier = options.isolation ?? (manifest.kind === 'agent' ? 'worker' : 'inline');
    const preempt = tier === 'inline' && options.preempt !== false;
    const compiled = preempt ? await WebAssembly.compile(instrumentDeadline(verified.capped)) : verified.compiled;
    const module = new LoadedModule(
      verified,
      {
        name,
        tier,
        compiled,
        preempt,
        timeoutMs: Math.min(options.timeoutMs ?? Infinity, manifest.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs),
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
   * Call a service export with raw bytes.
   * @example
   * const out = await kernel.call('mcp0.hello', 'echo', new Uint8Array([1, 2, 3]))
   */
  async call(name: string, exportName: string, input: Uint8Array): Promise<Uint8Array> {
    return (await this.#invoke(name, exportName, input, ROOT)).output;
  }

  /**
   * Call a service export with a value: CBOR in, CBOR out.
   * @example
   * await kernel.callValue('mcp0.hello', 'greet', { name: 'Ada' }) // → 'hello, Ada'
   */
  async callValue(name: string, exportName: string, value: CborValue): Promise<CborValue> {
    const output = await this.call(name, exportName, encodeCbor(value));
    return output.length === 0 ? null : decodeCbor(output);
  }

  /** Route a call to a module's export. Not async: on the hot path every promise layer costs. */
  #invoke(name: string, exportName: string, input: Uint8Array, state: CallState, allowHook = false) {
    const module = this.module(name);
    const listed = module.exportNames.has(exportName) || (allowHook && Object.values(GUEST_EXPORTS).includes(exportName as never));
    if (!listed) {
      throw new CallError('ENOTFOUND', `${name} has no export ${JSON.stringify(exportName)} (exports: ${module.manifest.exports.map((e) => e.name).join(', ') || 'none'})`, { module: name, export: exportName });
    }
    const next = state === ROOT ? module.rootState : { op: state.op, randoms: state.randoms, chain: [...state.chain, name] };
    return module.invoke(exportName, input, next);
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
    const op = { id: request.id ?? randomUUID(), agent: request.agent, intent: request.intent, time: request.time ?? this.#now() };
    return runPipeline(this.#pipeline, op, request.input, {
      hook: (name, hook, input) => this.#invoke(name, GUEST_EXPORTS[hook], input, { op, chain: [], randoms: new Map() }, true).then((r) => r.output),
      execute: (input) => this.#invoke(op.agent, op.intent, input, { op, chain: [], randoms: new Map() }),
      hookError: (module, hook, error) => this.emit('hook-error', { module, hook, error }),
    });
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
      call: async (target: string, exportName: string, input: Uint8Array) => {
        const state = module.current;
        if (state.chain.includes(target)) {
          throw new CallError('EBUSY', `${module.name} → ${target}: call cycle (${[...state.chain, target].join(' → ')}); modules are not re-entrant`, { chain: state.chain });
        }
        if (state.chain.length >= LIMITS.callDepth) throw new CallError('ETOOBIG', `call depth over ${LIMITS.callDepth}`, { chain: state.chain });
        return (await this.#invoke(target, exportName, input, state)).output;
      },
    };
  }
}
