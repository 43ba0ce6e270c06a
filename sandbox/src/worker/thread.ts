/**
 * The main-thread side of one guest thread: starts it, sends it calls, and serves the host calls
 * it makes while it blocks. Host functions run here, on the kernel's thread, with the same
 * `(ctx, ...args)` shape Extism gives them; they may answer with a promise.
 */
import type { CallContext } from '@extism/extism';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { CallMessage, FailedMessage, GuestData, GuestMessage, HostReply } from './protocol.js';
import { ProxyContext } from './proxy-context.js';

/**
 * A host function as Extism links it.
 * @example
 * const now: HostFn = (ctx) => ctx.store(encodeCbor({ ok: Date.now() }))
 */
export type HostFn = (ctx: CallContext, ...args: bigint[]) => unknown;

/**
 * What a guest thread needs from the kernel.
 * @example
 * const options: GuestThreadOptions = { compiled, functions: { 'mcp0:abi/v1': table }, hostBytesPerCall: 1 << 24, onLog: console.log }
 */
export interface GuestThreadOptions {
  compiled: WebAssembly.Module;
  /** Host functions by import namespace. */
  functions: Record<string, Record<string, HostFn>>;
  hostBytesPerCall: number;
  /** How long instantiation (the module's start function included) may take (default: no limit). */
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
  readonly hostBytesExceeded: boolean;
  /** @example new GuestFailure({ t: 'failed', message: 'unreachable', memoryBytes: 65536, hostBytesExceeded: false }) */
  constructor(m: Omit<FailedMessage, 't'>) {
    super(m.message);
    this.name = 'GuestFailure';
    this.memoryBytes = m.memoryBytes;
    this.hostBytesExceeded = m.hostBytesExceeded;
  }
}

/**
 * The guest thread did not finish starting in time, and was terminated.
 * @example
 * await GuestThread.start({ ...options, startTimeoutMs: 1000 }).catch((e) => e instanceof GuestStartTimeout)
 */
export class GuestStartTimeout extends Error {
  /** @example new GuestStartTimeout(5000) */
  constructor(readonly timeoutMs: number) {
    super(`the guest thread did not start within ${timeoutMs} ms and was terminated`);
    this.name = 'GuestStartTimeout';
  }
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
 * const thread = await GuestThread.start({ compiled, functions: { 'mcp0:abi/v1': table }, hostBytesPerCall: 1 << 24, onLog })
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

  private constructor(worker: Worker, replies: MessagePort, flag: Int32Array, fns: HostFn[], onLog: GuestThreadOptions['onLog'], onExit: GuestThreadOptions['onExit']) {
    this.#worker = worker;
    this.#replies = replies;
    this.#flag = flag;
    this.#fns = fns;
    this.#onLog = onLog;
    worker.on('message', (m: GuestMessage) => this.#onMessage(m));
    worker.on('error', (e: Error) => this.#end(e));
    worker.on('exit', (code) => {
      const reason = new Error(`the guest thread exited (code ${code})`);
      this.#end(reason);
      if (!this.#terminating) onExit?.(reason);
    });
  }

  /**
   * Start the thread and instantiate the module in it (which runs its start function). Rejects
   * with a GuestFailure when instantiation fails, a GuestStartTimeout when it takes too long.
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
    const data: GuestData = { compiled: opts.compiled, functions: names, hostBytesPerCall: opts.hostBytesPerCall, flag, replies: port2 };
    const worker = new Worker(guestUrl(), { workerData: data, transferList: [port2] });
    const thread = new GuestThread(worker, port1, new Int32Array(flag), fns, opts.onLog, opts.onExit);
    // A start function that never returns must not hold the load for ever.
    const timer = opts.startTimeoutMs === undefined ? undefined : setTimeout(() => thread.#end(new GuestStartTimeout(opts.startTimeoutMs!)), opts.startTimeoutMs);
    try {
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
      result.then((value: unknown) => this.#reply({ value, stored: ctx.stored }), (e: unknown) => this.#reply({ error: errorText(e) }));
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
