/**
 * The guest thread of the worker tier: runs one module with Extism's in-process plugin, and
 * serves its host functions by asking the main thread, blocking on a shared flag until the reply
 * comes. Blocking is what makes a host call cheap: no timers, no polling, no copy of Extism's
 * memory blocks across threads (Extism 1.0.3's own worker mode does all three per host call).
 * The main thread owns time limits: it terminates this thread when a call runs too long.
 */
import type { CallContext } from '@extism/extism';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { LimitError } from '../extism/budget.js';
import { GuestPlugin, type HostFunctionTable } from '../extism/plugin.js';
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
    // Stored through the allocation budget (GuestPlugin takes over ctx.store).
    for (const [placeholder, bytes] of reply.stored) {
      const handle = ctx.store(bytes);
      if (value === placeholder) value = handle;
    }
    return value;
  };
}

const functions: HostFunctionTable = {};
data.functions.forEach(([namespace, name], i) => {
  (functions[namespace] ??= {})[name] = proxy(i);
});

let guest: GuestPlugin | undefined;
const memoryBytes = () => guest?.memoryBytes ?? 0;

function failed(e: unknown): GuestMessage {
  const message =
    e instanceof Error ? e.message : typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  const error = e instanceof LimitError ? { code: e.code, message: e.message, details: e.details } : undefined;
  const growFailed = guest?.takeGrowFailed();
  return { t: 'failed', message, memoryBytes: memoryBytes(), ...(growFailed !== undefined && { growFailed }), ...(error && { error }) };
}

try {
  guest = await GuestPlugin.create({
    name: data.name,
    compiled: data.compiled,
    functions,
    hostBytesPerCall: data.hostBytesPerCall,
    growFlag: data.growFlag,
    onLog: (level, msg) => post({ t: 'log', level, msg }),
    // From here on the module is instantiated (its start function runs): the main thread times it against the call timeout.
    onInstantiate: () => post({ t: 'starting' }),
  });
  port.on('message', (m: CallMessage) => {
    try {
      const bytes = guest!.call(m.exportName, m.input);
      // The output's buffer is the caller's alone (GuestPlugin): move it instead of copying.
      const whole = bytes !== null && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      post({ t: 'done', output: bytes, memoryBytes: memoryBytes() }, whole ? [bytes.buffer as ArrayBuffer] : undefined);
    } catch (e) {
      post(failed(e));
    }
  });
  post({ t: 'ready', memoryBytes: memoryBytes() });
} catch (e) {
  post(failed(e));
}
