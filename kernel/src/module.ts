/**
 * A loaded module as the kernel runs it: its lifecycle, its meter, its current instance, the
 * queue that serialises calls (instances are not re-entrant), and recovery: a trap or timeout
 * replaces the instance so the next call is served; repeated failures mark the module failed and
 * the restart policy brings it back with backoff.
 */
import { CallError, GUEST_EXPORTS, type CborValue } from '@mcp0/abi';
import type { CallContext } from '@extism/extism';
import { Instance, type Tier } from './instance.js';
import { Lifecycle, RestartBudget, type LifecycleState, type RestartPolicy, type TransitionEvent } from './lifecycle.js';
import { Meter } from './metering.js';
import type { Operation, OperationRandom } from './operation.js';
import type { VerifiedModule } from './verify.js';

/** The state of the call in progress on a module, read by its host functions. */
export interface CallState {
  op?: Operation;
  /** Modules on the current call path, outermost first, to refuse cycles. */
  chain: string[];
  /** Per-module random streams of the operation, shared down the call path. */
  randoms?: Map<string, OperationRandom>;
}

/** How a module is run. */
export interface RunOptions {
  tier: Tier;
  timeoutMs: number;
  hostBytesPerCall: number;
  maxInputBytes: number;
  maxOutputBytes: number;
  config: CborValue;
  restart: RestartPolicy;
}

/** Failures after which an instance is replaced. */
const REPLACE_ON = new Set(['ETRAP', 'ETIMEOUT', 'EMEMORY']);

/** One loaded module. Created by `Kernel.load`. */
export class LoadedModule {
  readonly name: string;
  readonly verified: VerifiedModule;
  readonly options: RunOptions;
  readonly meter = new Meter();
  readonly #lifecycle: Lifecycle;
  readonly #budget: RestartBudget;
  readonly #functions: (module: LoadedModule) => Record<string, Record<string, (ctx: CallContext, ...a: bigint[]) => unknown>>;
  readonly #onLog: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  #instance: Instance | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  /** The call in progress, for the host functions. */
  current: CallState = { chain: [] };

  constructor(
    verified: VerifiedModule,
    options: RunOptions,
    functions: (module: LoadedModule) => Record<string, Record<string, (ctx: CallContext, ...a: bigint[]) => unknown>>,
    onTransition: (e: TransitionEvent) => void,
    onLog: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void,
  ) {
    this.name = verified.manifest.name;
    this.verified = verified;
    this.options = options;
    this.#functions = functions;
    this.#onLog = onLog;
    this.#lifecycle = new Lifecycle(this.name, onTransition);
    this.#budget = new RestartBudget(options.restart);
  }

  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  get manifest(): VerifiedModule['manifest'] {
    return this.verified.manifest;
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
    const instance = await Instance.create({
      name: this.name,
      compiled: this.verified.compiled,
      tier: this.options.tier,
      memoryPages: this.verified.memoryPages,
      timeoutMs: this.options.timeoutMs,
      hostBytesPerCall: this.options.hostBytesPerCall,
      functions: this.#functions(this),
      config: this.options.config,
      onLog: this.#onLog,
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
  invoke(exportName: string, input: Uint8Array, state: CallState): Promise<{ output: Uint8Array; cost: number; wallUs: number }> {
    const run = this.#queue.then(() => this.#invokeNow(exportName, input, state));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #invokeNow(exportName: string, input: Uint8Array, state: CallState): Promise<{ output: Uint8Array; cost: number; wallUs: number }> {
    const where = `${this.name}/${exportName}`;
    if (this.state !== 'running') throw new CallError('ESTATE', `${where}: the module is ${this.state}, not running`, { state: this.state });
    if (input.length > this.options.maxInputBytes) {
      throw new CallError('ETOOBIG', `${where}: input is ${input.length} bytes, the limit is ${this.options.maxInputBytes}`, { limit: this.options.maxInputBytes, got: input.length });
    }
    const instance = this.#instance!;
    this.current = state;
    const start = performance.now();
    let output: Uint8Array | undefined;
    let error: CallError | undefined;
    try {
      output = await instance.call(exportName, input);
      if (output.length > this.options.maxOutputBytes) {
        error = new CallError('ETOOBIG', `${where}: output is ${output.length} bytes, the limit is ${this.options.maxOutputBytes}`, { limit: this.options.maxOutputBytes, got: output.length });
      }
    } catch (e) {
      error = e instanceof CallError ? e : new CallError('EINTERNAL', `${where}: ${(e as Error).message}`);
    } finally {
      this.current = { chain: [] };
    }
    const wallUs = (performance.now() - start) * 1000;
    const cost = this.meter.record({
      wallUs,
      bytesIn: input.length,
      bytesOut: output?.length ?? 0,
      ...(error ? { error: error.code } : {}),
      ...(instance.memoryPages === undefined ? {} : { memoryPages: instance.memoryPages }),
    });
    if (error) {
      if (REPLACE_ON.has(error.code)) await this.#recover(error);
      throw error;
    }
    this.#failures = 0;
    return { output: output!, cost, wallUs };
  }

  /** Replace a trapped or terminated instance; too many failures in a row fail the module. */
  async #recover(error: CallError): Promise<void> {
    this.#failures++;
    await this.#instance?.close();
    this.#instance = undefined;
    if (this.#failures >= this.options.restart.failureThreshold) {
      this.#fail(`${this.#failures} failed calls in a row, the last: ${error.code}`);
      return;
    }
    try {
      this.meter.restarts++;
      await this.#bringUp(`replacing the instance after ${error.code}`);
    } catch (e) {
      this.#fail(`could not replace the instance: ${(e as Error).message}`);
    }
  }

  /** Mark the module failed and schedule a restart if the policy allows one. */
  #fail(reason: string): void {
    this.#lifecycle.to('failed', reason);
    const delay = this.#budget.next();
    if (delay === undefined) {
      this.#onLog('error', `${this.name}: restart budget spent; the module stays failed`);
      return;
    }
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#queue = this.#queue.then(async () => {
        if (this.state !== 'failed') return;
        this.#failures = 0;
        try {
          this.meter.restarts++;
          await this.#bringUp(`restart after ${delay} ms`);
        } catch (e) {
          this.#fail(`restart failed: ${(e as Error).message}`);
        }
      });
    }, delay);
    this.#restartTimer.unref();
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
    await this.#queue;
    const instance = this.#instance;
    this.#instance = undefined;
    if (instance?.alive && WebAssembly.Module.exports(this.verified.compiled).some((e) => e.name === GUEST_EXPORTS.stop)) {
      await instance.call(GUEST_EXPORTS.stop, new Uint8Array(0)).catch((e: Error) => this.#onLog('warn', `${this.name}: mcp0_stop failed: ${e.message}`));
    }
    await instance?.close();
    this.#lifecycle.to('stopped');
  }
}
