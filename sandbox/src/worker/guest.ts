/**
 * The guest thread of the worker tier: runs one module with Extism's in-process plugin, and
 * serves its host functions by asking the main thread, blocking on a shared flag until the reply
 * comes. Blocking is what makes a host call cheap: no timers, no polling, no copy of Extism's
 * memory blocks across threads (Extism 1.0.3's own worker mode does all three per host call).
 * The main thread owns time limits: it terminates this thread when a call runs too long.
 */
import createPlugin, { type CallContext } from '@extism/extism';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { CallMessage, GuestData, GuestMessage, HostReply } from './protocol.js';

const data = workerData as GuestData;
const port = parentPort!;
const flag = new Int32Array(data.flag);
const PENDING = 0;

function post(message: GuestMessage, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

/** Block until the main thread answers the host call just posted. */
function awaitReply(): HostReply {
  for (;;) {
    Atomics.wait(flag, 0, PENDING);
    const received = receiveMessageOnPort(data.replies);
    if (received) return received.message as HostReply;
    // The flag was raised before the reply was readable (not seen in practice): look again shortly.
    Atomics.wait(flag, 0, 1, 1);
  }
}

function proxy(fn: number) {
  return (ctx: CallContext, ...args: bigint[]): unknown => {
    const blocks: [bigint, Uint8Array][] = [];
    for (const arg of args) {
      const block = typeof arg === 'bigint' ? ctx.read(arg) : null;
      if (block) blocks.push([arg, block.bytes()]);
    }
    Atomics.store(flag, 0, PENDING);
    post({ t: 'host', fn, args, blocks });
    const reply = awaitReply();
    // A host function that throws traps the guest's call, as it does in the inline tier.
    if ('error' in reply) throw new Error(reply.error);
    let value = reply.value;
    for (const [placeholder, bytes] of reply.stored) {
      const handle = ctx.store(bytes);
      if (value === placeholder) value = handle;
    }
    return value;
  };
}

let hostBytes = 0;
let hostBytesExceeded = false;
let calling = false;

const functions: Record<string, Record<string, (ctx: CallContext, ...args: bigint[]) => unknown>> = {};
data.functions.forEach(([namespace, name], i) => {
  (functions[namespace] ??= {})[name] = proxy(i);
});
// Extism's own alloc would let a guest allocate without bound on this thread's heap.
functions['extism:host/env'] = {
  ...functions['extism:host/env'],
  alloc: (ctx: CallContext, n: bigint) => {
    if (calling) {
      hostBytes += Number(n);
      if (hostBytes > data.hostBytesPerCall) {
        hostBytesExceeded = true;
        throw new RangeError(`host memory budget of ${data.hostBytesPerCall} bytes per call exceeded`);
      }
    }
    return ctx.alloc(n);
  },
};

const log = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string) => post({ t: 'log', level, msg: String(msg) });
const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), trace: log('debug') } as unknown as Console;

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
}

let memory: WebAssembly.Memory | undefined;
const memoryBytes = () => memory?.buffer.byteLength ?? 0;

try {
  const plugin = await createPlugin({ wasm: [{ module: data.compiled, name: 'main' }] }, { useWasi: false, runInWorker: false, functions, logger });
  memory = (await plugin.getInstance('main')).exports.memory as WebAssembly.Memory | undefined;
  const targets = new Map<string, [string, string]>();
  port.on('message', async (m: CallMessage) => {
    let target = targets.get(m.exportName);
    if (!target) targets.set(m.exportName, (target = ['main', m.exportName]));
    hostBytes = 0;
    hostBytesExceeded = false;
    calling = true;
    try {
      const output = await plugin.call(target, m.input);
      const bytes = output === null ? null : output.bytes();
      // The output owns its block's buffer, which the reset below drops: move it instead of copying.
      const whole = bytes !== null && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      post({ t: 'done', output: bytes, memoryBytes: memoryBytes() }, whole ? [bytes.buffer as ArrayBuffer] : undefined);
    } catch (e) {
      post({ t: 'failed', message: messageOf(e), memoryBytes: memoryBytes(), hostBytesExceeded });
    } finally {
      calling = false;
      // In-process a reset is a cheap, synchronous clear of the handle table (which 1.0.3 would
      // otherwise grow until it overflows): do it after every call.
      await plugin.reset();
    }
  });
  post({ t: 'ready', memoryBytes: memoryBytes() });
} catch (e) {
  post({ t: 'failed', message: messageOf(e), memoryBytes: memoryBytes(), hostBytesExceeded: false });
}
