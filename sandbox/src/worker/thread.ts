/**
 * The main-thread side of one guest thread: starts it, sends it calls, and serves the host calls
 * it makes while it blocks. Host functions run here, on the host's (the kernel's) thread, with the same
 * `(ctx, ...args)` shape Extism gives them; they may answer with a promise.
 */
import type { CallContext } from '@extism/extism';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { GROW_FAILED_EXPORT } from '@mcp0/preempt';
import type { CallMessage, FailedMessage, GuestData, GuestMessage, HostReply } from './protocol.js';
import { ProxyContext } from './proxy-context.js';

/**
 * A host function as Extism links it.
 * @example
 * const now: HostFn = (ctx) => ctx.store(encodeCbor({ ok: Date.now() }))
 */
export type HostFn = (ctx: CallContext, ...args: bigint[]) => unknown;

/**
 * What a guest thread needs from its host (the worker tier's instance, or a test or benchmark driving it directly).
 * @example
 * const options: GuestThreadOptions = { name: 'acme.x', compiled, memoryPages: 256, functions: { 'mcp0:abi/v1': table }, hostBytesPerCall: 1 << 24, onLog: console.log }
 */
export interface GuestThreadOptions {
  /** The instance's name, for error messages (default `guest`). */
  name?: string;
  compiled: WebAssembly.Module;
  /** The module's memory cap, from which the thread's heap limits are derived (default 256 pages, the kernel's). */
  memoryPages?: number;
  /** Host functions by import namespace. */
  functions: Record<string, Record<string, HostFn>>;
  hostBytesPerCall: number;
  /**
   * How long instantiation (the module's start function) may take, counted from when the thread is
   * up (default: no limit). Starting the thread itself has its own bound, THREAD_START_MS.
   */
  startTimeoutMs?: number;
  onLog(level: 'debug' | 'info' | 'warn' | 'error', msg: string): void;
  /** Called once if the thread ends by itself (it crashed or was killed), not through `terminate`. */
  onExit?(reason: Error): void;
}

/**
 * A call or start that failed inside the guest thread, with what the thread saw.
 * @example
 * thread.call('bomb', input).catch((e) => e instanceof GuestFailure && e.memoryBytes)
 */
export class GuestFailure extends Error {
  readonly memoryBytes: number;
  /** Whether a memory.grow failed during the call; undefined when the module does not say. */
  readonly growFailed: boolean | undefined;
  /** The typed error of a limit the call ran into (host memory budget, Extism handles). */
  readonly error: FailedMessage['error'];
  /** @example new GuestFailure({ t: 'failed', message: 'unreachable', memoryBytes: 65536 }) */
  constructor(m: Omit<FailedMessage, 't'>) {
    super(m.message);
    this.name = 'GuestFailure';
    this.memoryBytes = m.memoryBytes;
    this.growFailed = m.growFailed;
    this.error = m.error;
  }
}

/**
 * The guest thread did not finish starting in time, and was terminated.
 * @example
 * await GuestThread.start({ ...options, startTimeoutMs: 1000 }).catch((e) => e instanceof GuestStartTimeout)
 */
export class GuestStartTimeout extends Error {
  /** @example new GuestStartTimeout(5000, 'instantiation') */
  constructor(
    readonly timeoutMs: number,
    readonly phase: 'thread' | 'instantiation',
  ) {
    super(
      phase === 'thread'
        ? `the guest thread did not start within ${timeoutMs} ms and was terminated`
        : `the module's instantiation (its start function) did not finish within ${timeoutMs} ms; the thread was terminated`,
    );
    this.name = 'GuestStartTimeout';
  }
}

/** Starting a thread (a Node worker, Extism) takes 50-100 ms on a loaded machine: a generous bound. */
export const THREAD_START_MS = 10_000;

/**
 * Heap limits of a guest thread, so a guest that fills its heap ends its own thread, never the
 * process. Outside them are the guest's linear memory and Extism's blocks (ArrayBuffers); inside,
 * Node's own runtime, Extism's objects, tables (capped at load) and strings decoded from blocks (a
 * log line, an error, an Extism variable's key). One such string is the largest single allocation
 * a guest can cause: up to 2 bytes a byte of a block, and Node grants only 16 MB past the limit to
 * end a thread cleanly, so the headroom covers twice the host memory budget.
 */
function resourceLimits(memoryPages: number, hostBytesPerCall: number) {
  const mb = (bytes: number) => Math.ceil(bytes / (1 << 20));
  return { maxOldGenerationSizeMb: 48 + mb(memoryPages * 65536) + 2 * mb(hostBytesPerCall), maxYoungGenerationSizeMb: 32, codeRangeSizeMb: 32, stackSizeMb: 4 };
}

/** The guest thread's compiled file: beside this one in dist/; from the sources (tests), in the built dist/. */
function guestUrl(): URL {
  const here = new URL('.', import.meta.url);
  return here.pathname.endsWith('/src/worker/') ? new URL('../../dist/worker/guest.js', here) : new URL('./guest.js', here);
}

type Pending = { resolve(m: GuestMessage): void; reject(e: Error): void };

/**
 * One module instance in a worker thread of ours. Calls must be serialised by the caller.
 * @example
 * const thread = await GuestThread.start({ name: 'acme.x', compiled, memoryPages: 256, functions: { 'mcp0:abi/v1': table }, hostBytesPerCall: 1 << 24, onLog })
 * const out = await thread.call('greet', input)
 * await thread.terminate()
 */
export class GuestThread {
  readonly #worker: Worker;
  readonly #replies: MessagePort;
  readonly #flag: Int32Array;
  readonly #fns: HostFn[];
  readonly #onLog: GuestThreadOptions['onLog'];
  #pending: Pending | undefined;
  /** Set by `terminate`, so the exit it causes is not reported as a death. */
  #terminating = false;
  /** Why the thread is gone, once it is. */
  #gone: Error | undefined;
  /** Linear memory after the last call. */
  memoryBytes = 0;

  private constructor(
    worker: Worker,
    replies: MessagePort,
    flag: Int32Array,
    fns: HostFn[],
    onLog: GuestThreadOptions['onLog'],
    onExit: GuestThreadOptions['onExit'],
  ) {
    this.#worker = worker;
    this.#replies = replies;
    this.#flag = flag;
    this.#fns = fns;
    this.#onLog = onLog;
    worker.on('message', (m: GuestMessage) => this.#onMessage(m));
    worker.on('error', (e: Error) => this.#end(e));
    worker.on('exit', (code) => {
      this.#end(new Error(`the guest thread exited (code ${code})`));
      // The first reason is the telling one (an 'error' such as ERR_WORKER_OUT_OF_MEMORY, before the exit).
      if (!this.#terminating) onExit?.(this.#gone!);
    });
  }

  /**
   * Start the thread and instantiate the module in it (which runs its start function). Rejects
   * with a GuestFailure when instantiation fails, a GuestStartTimeout when either takes too long.
   * @example
   * const thread = await GuestThread.start(options)
   */
  static async start(opts: GuestThreadOptions): Promise<GuestThread> {
    const names: [string, string][] = [];
    const fns: HostFn[] = [];
    for (const [namespace, table] of Object.entries(opts.functions)) {
      for (const [name, fn] of Object.entries(table)) {
        names.push([namespace, name]);
        fns.push(fn);
      }
    }
    const { port1, port2 } = new MessageChannel();
    const flag = new SharedArrayBuffer(4);
    const data: GuestData = {
      name: opts.name ?? 'guest',
      compiled: opts.compiled,
      functions: names,
      hostBytesPerCall: opts.hostBytesPerCall,
      flag,
      replies: port2,
      growFlag: GROW_FAILED_EXPORT,
    };
    const worker = new Worker(guestUrl(), {
      workerData: data,
      transferList: [port2],
      resourceLimits: resourceLimits(opts.memoryPages ?? 256, opts.hostBytesPerCall),
    });
    const thread = new GuestThread(worker, port1, new Int32Array(flag), fns, opts.onLog, opts.onExit);
    const bound = (ms: number | undefined, phase: GuestStartTimeout['phase']) =>
      ms === undefined ? undefined : setTimeout(() => thread.#end(new GuestStartTimeout(ms, phase)), ms);
    let timer = bound(THREAD_START_MS, 'thread');
    try {
      await thread.#next(); // 'starting': the thread is up
      clearTimeout(timer);
      // A start function that never returns must not hold the load for ever.
      timer = bound(opts.startTimeoutMs, 'instantiation');
      const ready = await thread.#next();
      thread.memoryBytes = (ready as { memoryBytes: number }).memoryBytes;
    } catch (e) {
      await thread.terminate();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    thread.#worker.unref();
    return thread;
  }

  /**
   * Run an export. Resolves with its output bytes (null when it set none); rejects with a
   * GuestFailure for a guest error or trap, or an Error when the thread died.
   * @example
   * const out = await thread.call('ok', new Uint8Array([1]))
   */
  async call(exportName: string, input: Uint8Array): Promise<Uint8Array | null> {
    const message: CallMessage = { t: 'call', exportName, input };
    const answer = this.#next();
    // Keep the process alive while a call is out, not while the thread idles.
    this.#worker.ref();
    this.#worker.postMessage(message);
    try {
      const done = (await answer) as Extract<GuestMessage, { t: 'done' }>;
      this.memoryBytes = done.memoryBytes;
      return done.output;
    } finally {
      this.#worker.unref();
    }
  }

  /**
   * Stop the thread at once, whatever it is doing (a looping guest, a pending host call).
   * @example
   * await thread.terminate()
   */
  async terminate(): Promise<void> {
    this.#terminating = true;
    this.#end(new Error('the guest thread was terminated'));
    this.#replies.close();
    await this.#worker.terminate().catch(() => undefined);
  }

  /** The next 'ready' or 'done' (resolved) or 'failed' (rejected) from the thread. */
  #next(): Promise<GuestMessage> {
    if (this.#gone) return Promise.reject(this.#gone);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }

  #onMessage(m: GuestMessage): void {
    switch (m.t) {
      case 'host':
        this.#serve(m.fn, m.args, m.blocks);
        return;
      case 'log':
        this.#onLog(m.level, m.msg);
        return;
      case 'failed': {
        const pending = this.#pending;
        this.#pending = undefined;
        this.memoryBytes = m.memoryBytes;
        pending?.reject(new GuestFailure(m));
        return;
      }
      default: {
        const pending = this.#pending;
        this.#pending = undefined;
        pending?.resolve(m);
      }
    }
  }

  #end(reason: Error): void {
    this.#gone ??= reason;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#gone);
  }

  /** Run a host function for the blocked guest thread and wake it with the answer. */
  #serve(fn: number, args: bigint[], blocks: [bigint, Uint8Array][]): void {
    const ctx = new ProxyContext(blocks);
    const hostFn = this.#fns[fn];
    let result: unknown;
    try {
      if (!hostFn) throw new Error(`no host function #${fn}`);
      result = hostFn(ctx as unknown as CallContext, ...args);
    } catch (e) {
      this.#reply({ error: errorText(e) });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => this.#reply({ value, stored: ctx.stored }),
        (e: unknown) => this.#reply({ error: errorText(e) }),
      );
    } else {
      this.#reply({ value: result, stored: ctx.stored });
    }
  }

  #reply(reply: HostReply): void {
    if (this.#gone) return;
    try {
      this.#replies.postMessage(reply);
    } catch (e) {
      // A value that cannot cross threads must still wake the guest, or it would wait for ever.
      this.#replies.postMessage({ error: `host function answered with a value that cannot reach the guest thread: ${errorText(e)}` });
    }
    Atomics.store(this.#flag, 0, 1);
    Atomics.notify(this.#flag, 0);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
