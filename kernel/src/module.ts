/**
 * A loaded module as the kernel runs it: its lifecycle, its meter, its current instance, the
 * queue that serialises calls (instances are not re-entrant), and recovery: a trap or timeout
 * replaces the instance so the next call is served; repeated failures mark the module failed and
 * the restart policy brings it back with backoff.
 */
import { CallError, GUEST_EXPORTS, type CborValue, type ExportSchemaChecks } from '@mcp0/abi';
import { createInstance, type HostFunctionTable, type Instance, type LogLevel, type Tier } from '@mcp0/sandbox';
import { Lifecycle, RestartBudget, type LifecycleState, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
import { Meter } from './metering.js';
import type { Operation, OperationRandom } from './operation.js';
import { cutoffReached, waitUnlessCut, type Cutoff } from './cutoff.js';
import type { VerifiedModule } from './verify.js';

/** The state of the call in progress on a module, read by its host functions. */
export interface CallState {
  op?: Operation;
  /** Modules on the current call path, outermost first, to refuse cycles. */
  chain: string[];
  /** Per-module random streams of the operation, shared down the call path. */
  randoms?: Map<string, OperationRandom>;
  /** When the operation stops being wanted: a call still waiting for its module then never runs. */
  cutoff?: Cutoff;
}

/** How a module is run. */
export interface RunOptions {
  /** The instance's name: the manifest's name, or (for agents) the agent's id. */
  name: string;
  tier: Tier;
  /** What runs: the verified module, or its preemptible rewrite in the inline tier. */
  compiled: WebAssembly.Module;
  /** The module was instrumented with deadline checks (inline tier). */
  preempt: boolean;
  timeoutMs: number;
  hostBytesPerCall: number;
  maxInputBytes: number;
  maxOutputBytes: number;
  config: CborValue;
  restart: RestartPolicy;
}

/** The call state between calls. */
const IDLE: CallState = Object.freeze({ chain: [] as string[] });

/** Failures after which an instance is replaced. */
const REPLACE_ON = new Set(['ETRAP', 'ETIMEOUT', 'EMEMORY']);

/**
 * True for a failure the kernel saw (a trap, a timeout, memory exhaustion) that leaves the instance
 * unfit to serve again; false for the same codes when a guest merely reports them as its error.
 */
export function brokeInstance(error: CallError): boolean {
  return REPLACE_ON.has(error.code) && error.details.byGuest !== true;
}

/**
 * The error of a failed call, with the cost units it used: a failed operation is billed what it
 * consumed, not a flat unit.
 */
function withCost(error: CallError, cost: number): CallError {
  const Same = error.constructor as typeof CallError;
  return new Same(error.code, error.message, { ...error.details, cost }, { cause: error.cause ?? error });
}

/** One loaded module. Created by `Kernel.load`. */
export class LoadedModule {
  readonly name: string;
  readonly verified: VerifiedModule;
  readonly options: RunOptions;
  readonly meter = new Meter();
  readonly #lifecycle: Lifecycle;
  readonly #budget: RestartBudget;
  readonly #exportNames: ReadonlySet<string>;
  readonly #functions: (module: LoadedModule) => HostFunctionTable;
  readonly #onLog: (level: LogLevel, msg: string) => void;
  #instance: Instance | undefined;
  /** Calls are serialised: one runs, the rest wait here in order. */
  #busy = false;
  readonly #waiting: (() => void)[] = [];
  #failures = 0;
  /** Failures of callees reached through `call` during the current call, charged to this module. */
  #charged = 0;
  /** The module this one's current call waits on through `call`: an edge of the waits-for graph. */
  waitingFor: LoadedModule | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  /** The state of a call made straight to this module, from outside any operation: built once. */
  readonly rootState: CallState;
  /** The call in progress, for the host functions. */
  current: CallState = IDLE;

  constructor(
    verified: VerifiedModule,
    options: RunOptions,
    functions: (module: LoadedModule) => HostFunctionTable,
    onTransition: (e: TransitionEvent) => void,
    onLog: (level: LogLevel, msg: string) => void,
  ) {
    this.name = options.name;
    this.verified = verified;
    this.options = options;
    this.#functions = functions;
    this.#onLog = onLog;
    this.#exportNames = new Set(verified.manifest.exports.map((e) => e.name));
    this.rootState = Object.freeze({ chain: Object.freeze([this.name]) as string[] });
    this.#lifecycle = new Lifecycle(this.name, onTransition);
    this.#budget = new RestartBudget(options.restart);
  }

  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  get manifest(): VerifiedModule['manifest'] {
    return this.verified.manifest;
  }

  /** The service exports the manifest lists: the only ones callers may reach. */
  get exportNames(): ReadonlySet<string> {
    return this.#exportNames;
  }

  /**
   * The JSON Schemas export `name` declares (ABI 1.3), as the signed manifest gives them: plain
   * JSON (frozen), for an MCP server's `inputSchema` and `outputSchema`. Empty for an export
   * without schemas; ENOTFOUND for one the manifest does not list.
   * @example
   * const { input, output } = kernel.module('acme.counter').exportSchemas('add')
   */
  exportSchemas(name: string): { input?: Readonly<Record<string, unknown>>; output?: Readonly<Record<string, unknown>> } {
    if (!this.#exportNames.has(name))
      throw new CallError('ENOTFOUND', `${this.name} has no export ${JSON.stringify(name)}`, { module: this.name, export: name });
    const checks = this.verified.schemas.get(name);
    return {
      ...(checks?.input === undefined ? {} : { input: checks.input.schema }),
      ...(checks?.output === undefined ? {} : { output: checks.output.schema }),
    };
  }

  /** The compiled schemas of export `name`, for the kernel's per-call checks; undefined without any. */
  schemaChecks(name: string): ExportSchemaChecks | undefined {
    return this.verified.schemas.get(name);
  }

  /** verified → instantiated → initialized → running. */
  async start(): Promise<void> {
    try {
      await this.#bringUp();
    } catch (e) {
      this.#lifecycle.to('failed', (e as Error).message);
      throw e;
    }
  }

  /** Create and initialise an instance, walking the lifecycle to running. */
  async #bringUp(reason?: string): Promise<void> {
    const instance = await createInstance({
      name: this.name,
      compiled: this.options.compiled,
      preempt: this.options.preempt,
      tier: this.options.tier,
      memoryPages: this.verified.memoryPages,
      timeoutMs: this.options.timeoutMs,
      hostBytesPerCall: this.options.hostBytesPerCall,
      functions: this.#functions(this),
      config: this.options.config,
      onLog: this.#onLog,
      onDeath: (dead) => {
        this.#exclusive(() => this.#died(dead)).catch((e: unknown) => this.#onLog('error', `${this.name}: ${(e as Error).message}`));
      },
    });
    this.#lifecycle.to('instantiated', reason);
    try {
      await instance.init();
    } catch (e) {
      await instance.close();
      throw e;
    }
    this.#instance = instance;
    this.#lifecycle.to('initialized');
    this.#lifecycle.to('running');
  }

  /**
   * Call an export with raw bytes, serialised with every other call to this module. Metering
   * records the call whatever its outcome.
   */
  async invoke(exportName: string, input: Uint8Array, state: CallState): Promise<{ output: Uint8Array; cost: number; wallUs: number }> {
    // One async layer on the hot path: the lock, the call and the metering live in this function.
    if (!this.#busy) this.#busy = true;
    else if (state.cutoff === undefined) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else
      await waitUnlessCut(
        state.cutoff,
        `${this.name}/${exportName}`,
        (wake) => this.#waiting.push(wake),
        (wake) => this.#unqueue(wake),
      );
    try {
      // Guarded, so a call without a cutoff (most of them) does not build the message's text.
      const late = state.cutoff === undefined ? undefined : cutoffReached(state.cutoff, `${this.name}/${exportName}`);
      if (late) throw late;
      if (this.state !== 'running')
        throw new CallError('ESTATE', `${this.name}/${exportName}: the module is ${this.state}, not running`, { state: this.state });
      if (input.length > this.options.maxInputBytes) {
        throw new CallError('ETOOBIG', `${this.name}/${exportName}: input is ${input.length} bytes, the limit is ${this.options.maxInputBytes}`, {
          limit: this.options.maxInputBytes,
          got: input.length,
        });
      }
      const instance = this.#instance!;
      this.current = state;
      const start = performance.now();
      let output: Uint8Array | undefined;
      let error: CallError | undefined;
      try {
        output = await instance.call(exportName, input, start);
        if (output.length > this.options.maxOutputBytes) {
          error = new CallError('ETOOBIG', `${this.name}/${exportName}: output is ${output.length} bytes, the limit is ${this.options.maxOutputBytes}`, {
            limit: this.options.maxOutputBytes,
            got: output.length,
          });
        }
      } catch (e) {
        error = e instanceof CallError ? e : new CallError('EINTERNAL', `${this.name}/${exportName}: ${(e as Error).message}`);
      } finally {
        this.current = IDLE;
      }
      const wallUs = (performance.now() - start) * 1000;
      const cost = this.meter.record(wallUs, input.length, output?.length ?? 0, error?.code, instance.memoryPages);
      if (error === undefined && this.#charged === 0) this.#failures = 0;
      else await this.#account(instance, error, state);
      if (error) throw withCost(error, cost);
      return { output: output!, cost, wallUs };
    } finally {
      this.#release();
    }
  }

  /**
   * Charge a failure of a call this module made through `call` to this module: the callee's
   * instance is replaced, but its failure count is not touched, so callers cannot fail a shared
   * plugin; a caller that keeps breaking its callees fails itself.
   */
  chargeCalleeFailure(): void {
    this.#charged++;
  }

  /**
   * After a call: count failures in a row (the callees' charged ones included), replace a trapped
   * instance, fail the module past the threshold. Runs while the call still holds the module.
   */
  async #account(instance: Instance, error: CallError | undefined, state: CallState): Promise<void> {
    if (error && instance.died) return this.#died(instance);
    const replace = error !== undefined && brokeInstance(error);
    // A failure reached through another module's `call` is that module's to pay for.
    const viaCall = state.chain.length > 1;
    const charged = this.#charged;
    this.#charged = 0;
    this.#failures += charged + (replace && !viaCall ? 1 : 0);
    if (this.#failures >= this.options.restart.failureThreshold) {
      this.#instance = undefined;
      await instance.close();
      this.#fail(`${this.#failures} failed calls in a row, the last: ${error?.code ?? 'a failure charged from a callee'}`);
    } else if (replace) {
      await this.#replace(instance, error);
    }
  }

  /** Run `task` when no call is running on this module (for restarts and stop). */
  async #exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.#busy) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy = true;
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  /** Take back a waiting call whose cutoff came: it never gets the module. */
  #unqueue(wake: () => void): void {
    const i = this.#waiting.indexOf(wake);
    if (i >= 0) this.#waiting.splice(i, 1);
  }

  /** Hand the module to the next waiting call (which then owns it), or mark it idle. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#busy = false;
  }

  /** Replace a trapped or terminated instance so the next call is served. */
  async #replace(instance: Instance, error: CallError): Promise<void> {
    this.#instance = undefined;
    await instance.close();
    try {
      this.meter.restarts++;
      await this.#bringUp(`replacing the instance after ${error.code}`);
    } catch (e) {
      this.#fail(`could not replace the instance: ${(e as Error).message}`);
    }
  }

  /**
   * A guest thread that died by itself (crashed, or was killed from outside) fails the module at
   * once, whether a call was running or not: unlike a trap, nothing says the next thread would
   * fare better, and the embedder (a node healing its agents) must hear of it. Runs exclusively.
   */
  async #died(instance: Instance): Promise<void> {
    if (this.#instance !== instance || this.state === 'stopping' || this.state === 'stopped') return;
    this.#instance = undefined;
    await instance.close();
    this.#fail(`the worker thread died: ${instance.died?.message}`);
  }

  /**
   * Mark the module failed (once: a restart that fails finds it failed already) and schedule the
   * next restart. Restarts never stop: past the policy's budget they come at its longest backoff.
   */
  #fail(reason: string): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    if (this.state === 'failed') this.#onLog('warn', `${this.name}: ${reason}`);
    else this.#lifecycle.to('failed', reason);
    const delay = this.#budget.next();
    if (this.#budget.spent) this.#onLog('warn', `${this.name}: restart budget spent; retrying every ${delay} ms`);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#exclusive(() => this.#restart(delay)).catch((e: unknown) => this.#onLog('error', `${this.name}: restart: ${(e as Error).message}`));
    }, delay);
    this.#restartTimer.unref();
  }

  async #restart(delay: number): Promise<void> {
    if (this.state !== 'failed') return;
    this.#failures = 0;
    try {
      this.meter.restarts++;
      await this.#bringUp(`restart after ${delay} ms`);
    } catch (e) {
      this.#fail(`restart failed: ${(e as Error).message}`);
    }
  }

  /** running → paused: calls are refused with ESTATE until `resume`. */
  pause(): void {
    this.#lifecycle.to('paused');
  }

  resume(): void {
    this.#lifecycle.to('running');
  }

  /** → stopping → stopped: waits for the call in progress, calls `mcp0_stop`, closes the instance. */
  async stop(): Promise<void> {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    if (this.state === 'stopped') return;
    this.#lifecycle.to('stopping');
    await this.#exclusive(async () => undefined);
    const instance = this.#instance;
    this.#instance = undefined;
    if (instance?.alive && WebAssembly.Module.exports(this.options.compiled).some((e) => e.name === GUEST_EXPORTS.stop)) {
      await instance.call(GUEST_EXPORTS.stop, new Uint8Array(0)).catch((e: Error) => this.#onLog('warn', `${this.name}: mcp0_stop failed: ${e.message}`));
    }
    await instance?.close();
    this.#lifecycle.to('stopped');
  }
}
