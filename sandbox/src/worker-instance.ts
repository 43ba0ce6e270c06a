/**
 * The worker tier's instance: a guest thread of ours (worker/thread.ts) running the module, with a
 * preemptive timeout. Each call races a timer; when the timer wins the thread is terminated, and
 * the instance with it. A thread that ends by itself (a crash, its heap limits, a kill from outside)
 * is reported through `onDeath`, whether or not a call was running.
 */
import { CallError, GUEST_EXPORTS } from '@mcp0/abi';
import { exactBytes } from './extism/exact-bytes.js';
import { classify, initInput, startError } from './failures.js';
import type { Instance, InstanceOptions } from './instance.js';
import { GuestFailure, GuestThread } from './worker/thread.js';

/**
 * What instantiation gets beyond the call timeout: the thread must be scheduled, and Extism builds
 * the instance around the start function. On a loaded 2-core machine that alone passed 5 ms (a
 * module with a 5 ms timeout then failed every restart), so a bound of the call timeout alone would
 * fail sound modules; a looping start function is still stopped within the timeout plus this.
 */
export const INSTANTIATION_SLACK_MS = 1_000;

/**
 * An instance in its own thread. Made by `createInstance` for the worker tier.
 * @example
 * const instance = await WorkerInstance.create({ ...options, tier: 'worker', preempt: false })
 * const out = await instance.call('greet', input)
 */
export class WorkerInstance implements Instance {
  readonly #opts: InstanceOptions;
  readonly #thread: GuestThread;
  #dead = false;
  /** Why the guest thread ended by itself, once it has. */
  #died: Error | undefined;

  private constructor(opts: InstanceOptions, thread: GuestThread) {
    this.#opts = opts;
    this.#thread = thread;
  }

  /**
   * Start the guest thread and instantiate the module in it (its start function gets the call
   * timeout plus INSTANTIATION_SLACK_MS, counted once the thread is up).
   * @example
   * const instance = await WorkerInstance.create(options)
   */
  static async create(opts: InstanceOptions): Promise<WorkerInstance> {
    const { name, compiled, memoryPages, functions, hostBytesPerCall, onLog, timeoutMs } = opts;
    let instance: WorkerInstance | undefined;
    const onExit = (reason: Error) => {
      if (!instance) return; // still starting: start() rejects by itself
      instance.#dead = true;
      instance.#died = reason;
      opts.onDeath?.(instance);
    };
    const startTimeoutMs = timeoutMs + INSTANTIATION_SLACK_MS;
    const thread = await GuestThread.start({ name, compiled, memoryPages, functions, hostBytesPerCall, onLog, startTimeoutMs, onExit }).catch((e: unknown) => {
      throw startError(name, e);
    });
    return (instance = new WorkerInstance(opts, thread));
  }

  async init(): Promise<void> {
    const input = initInput(this.#opts.compiled, this.#opts.config);
    if (input) await this.call(GUEST_EXPORTS.init, input);
  }

  get alive(): boolean {
    return !this.#dead;
  }

  get died(): Error | undefined {
    return this.#died;
  }

  get memoryPages(): number {
    return this.#thread.memoryBytes / 65536;
  }

  async call(exportName: string, input: Uint8Array): Promise<Uint8Array> {
    if (this.#dead) throw new CallError('ESTATE', `${this.#opts.name}: instance was terminated`);
    try {
      // A view of a larger buffer would carry the whole buffer across the thread boundary.
      return (await this.#withTimeout(this.#thread.call(exportName, exactBytes(input)), exportName)) ?? new Uint8Array(0);
    } catch (e) {
      // The guest thread reports its memory with a failure, since this thread cannot see it.
      const memoryBytes = e instanceof GuestFailure ? e.memoryBytes : 0;
      const growFailed = e instanceof GuestFailure ? e.growFailed : undefined;
      throw classify(e, { where: `${this.#opts.name}/${exportName}`, memoryPages: this.#opts.memoryPages, memoryBytes, growFailed, died: this.#died });
    }
  }

  async close(): Promise<void> {
    this.#dead = true;
    await this.#thread.terminate();
  }

  async #withTimeout<T>(pending: Promise<T>, exportName: string): Promise<T> {
    const { name, timeoutMs } = this.#opts;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#dead = true;
        void this.#thread.terminate();
        reject(new CallError('ETIMEOUT', `${name}/${exportName}: no answer within ${timeoutMs} ms; the worker was terminated`, { timeoutMs }));
      }, timeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
