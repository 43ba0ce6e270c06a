/**
 * The inline tier's instance: an Extism plugin on the host's own thread, the fastest tier, for
 * trusted system plugins. A thread cannot be stopped from outside, so time is enforced from inside:
 * the deadline checks @mcp0/preempt inserts into the module's loops call back here, and so does
 * every host function on entry; both throw past the deadline, so the guest unwinds.
 */
import { CallError, GUEST_EXPORTS } from '@mcp0/abi';
import { DEADLINE_IMPORT, DEFAULT_SLICE, GROW_FAILED_EXPORT } from '@mcp0/preempt';
import { GuestPlugin, type HostFunctionTable } from './extism/plugin.js';
import { classify, initInput, startError } from './failures.js';
import type { Instance, InstanceOptions } from './instance.js';

/** The deadline of the call in progress, moved forward at each call. */
type Clock = { deadline: number; exportName: string };

/**
 * An instance on this thread. Made by `createInstance` for the inline tier.
 * @example
 * const instance = await InlineInstance.create({ ...options, tier: 'inline', preempt: true })
 * const out = await instance.call('greet', input)
 */
export class InlineInstance implements Instance {
  readonly #opts: InstanceOptions;
  readonly #guest: GuestPlugin;
  readonly #clock: Clock;
  #closed = false;

  private constructor(opts: InstanceOptions, guest: GuestPlugin, clock: Clock) {
    this.#opts = opts;
    this.#guest = guest;
    this.#clock = clock;
  }

  /**
   * Instantiate the module (running its start function under the call timeout).
   * @example
   * const instance = await InlineInstance.create(options)
   */
  static async create(opts: InstanceOptions): Promise<InlineInstance> {
    const { name, timeoutMs } = opts;
    // The first deadline is set here, before the start function runs.
    const clock: Clock = { deadline: performance.now() + timeoutMs, exportName: '(start)' };
    // A guest looping on host calls spends its time in them, where the checks in its code do not
    // see it: hence the check on entry to every host function too. Both throw, so the guest
    // unwinds rather than getting an error it could ignore.
    const overdue = () => {
      if (performance.now() > clock.deadline) {
        throw new CallError('ETIMEOUT', `${name}/${clock.exportName}: no answer within ${timeoutMs} ms; the call was preempted`, { timeoutMs });
      }
    };
    const deadline = () => (overdue(), DEFAULT_SLICE);
    const internal: HostFunctionTable = opts.preempt ? { [DEADLINE_IMPORT.module]: { [DEADLINE_IMPORT.name]: deadline } } : {};
    const guest = await GuestPlugin.create({ ...opts, internal, onHostCall: overdue, growFlag: GROW_FAILED_EXPORT }).catch((e: unknown) => {
      throw startError(name, e);
    });
    return new InlineInstance(opts, guest, clock);
  }

  async init(): Promise<void> {
    const input = initInput(this.#opts.compiled, this.#opts.config);
    if (input) await this.call(GUEST_EXPORTS.init, input);
  }

  get alive(): boolean {
    return !this.#closed;
  }

  /** Never set: the inline tier has no thread of its own to die. */
  get died(): undefined {
    return undefined;
  }

  get memoryPages(): number {
    return this.#guest.memoryBytes / 65536;
  }

  async call(exportName: string, input: Uint8Array, startedAt = performance.now()): Promise<Uint8Array> {
    if (this.#closed) throw new CallError('ESTATE', `${this.#opts.name}: instance was terminated`);
    // The slice counter of the deadline checks carries over between calls: a call may meet its
    // first check early, which is harmless, and not refilling it saves a Global write per call.
    this.#clock.deadline = startedAt + this.#opts.timeoutMs;
    this.#clock.exportName = exportName;
    try {
      // A copy: the guest may write into its input block, which must not be the caller's buffer.
      return this.#guest.call(exportName, new Uint8Array(input)) ?? new Uint8Array(0);
    } catch (e) {
      throw classify(e, {
        where: `${this.#opts.name}/${exportName}`,
        memoryPages: this.#opts.memoryPages,
        memoryBytes: this.#guest.memoryBytes,
        growFailed: this.#guest.takeGrowFailed(),
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#guest.close();
  }
}
