/**
 * The messages between the host's main thread and a guest thread (worker/guest.ts).
 * Calls and their outcomes travel as ordinary messages; a host call blocks the guest thread, which
 * reads its reply synchronously from a dedicated port once the main thread raises a shared flag.
 * Only request and response bytes cross, never Extism's memory blocks.
 */
import type { ErrorCode } from '@mcp0/abi';
import type { MessagePort } from 'node:worker_threads';

/**
 * What a guest thread is started with (its workerData).
 * @example
 * new Worker(url, { workerData: { name, compiled, functions: [['mcp0:abi/v1', 'kv_get']], hostBytesPerCall, flag, replies: port2 } satisfies GuestData, transferList: [port2] })
 */
export interface GuestData {
  /** The instance's name, for error messages. */
  name: string;
  /** The module to run, memory cap already written in. */
  compiled: WebAssembly.Module;
  /** [namespace, name] of every host function the main thread serves, by index. */
  functions: [string, string][];
  /** Host-side bytes the guest may allocate through `extism:host/env.alloc` in one call. */
  hostBytesPerCall: number;
  /** Int32Array over it: 0 while a host call is pending, 1 once its reply is posted. */
  flag: SharedArrayBuffer;
  /** Host call replies, read with receiveMessageOnPort while the guest thread blocks. */
  replies: MessagePort;
  /** The global a failed memory.grow sets (GuestPluginOptions.growFlag). */
  growFlag: string;
}

/**
 * Main thread to guest thread.
 * @example
 * worker.postMessage({ t: 'call', exportName: 'greet', input } satisfies CallMessage)
 */
export interface CallMessage {
  t: 'call';
  exportName: string;
  input: Uint8Array;
}

/**
 * A failed call, or a failed start, as the guest thread saw it.
 * @example
 * const m: FailedMessage = { t: 'failed', message: 'unreachable', memoryBytes: 4 << 20 }
 */
export interface FailedMessage {
  t: 'failed';
  message: string;
  /** Linear memory after the failure, so a trap at the cap can be told apart from other traps. */
  memoryBytes: number;
  /** Whether a memory.grow failed during the call (a module instrumented with the grow watch). */
  growFailed?: boolean;
  /** The typed error of a limit the call ran into (host memory budget, Extism handles). */
  error?: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

/**
 * Guest thread to main thread.
 * @example
 * worker.on('message', (m: GuestMessage) => { if (m.t === 'host') serve(m.fn, m.args, m.blocks) })
 */
export type GuestMessage =
  /** The thread is up and Extism instantiates the module now (its start function runs on the call timeout). */
  | { t: 'starting' }
  | { t: 'ready'; memoryBytes: number }
  | { t: 'done'; output: Uint8Array | null; memoryBytes: number }
  | FailedMessage
  | { t: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string }
  /** A host call: its arguments, and the bytes of every argument that is a live memory block. */
  | { t: 'host'; fn: number; args: bigint[]; blocks: [bigint, Uint8Array][] };

/**
 * The answer to a host call: its return value, and the blocks the host function stored. The
 * guest thread stores each block for real and swaps the placeholder handle for the real one.
 * @example
 * replies.postMessage({ value: placeholder, stored: [[placeholder, responseBytes]] } satisfies HostReply)
 */
export type HostReply = { value: unknown; stored: [bigint, Uint8Array][] } | { error: string };
