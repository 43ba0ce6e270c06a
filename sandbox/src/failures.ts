/**
 * What both implementations of an instance share: the translation of everything that can go wrong
 * in a start or a call into a typed CallError (once, here, whichever tier the failure came from),
 * and running `mcp0_init`.
 */
import { CallError, GUEST_EXPORTS, encodeCbor, type CborValue } from '@mcp0/abi';
import { LimitError } from './extism/budget.js';
import { guestError } from './extism/errors.js';
import { GuestFailure, GuestStartTimeout } from './worker/thread.js';

/** What an instance knows about a failed call, beyond the error itself. */
export interface FailureContext {
  /** `name/export`, for the message. */
  where: string;
  /** The instance's memory cap. */
  memoryPages: number;
  /** Linear memory after the failure (the guest thread reports its own with the failure). */
  memoryBytes: number;
  /** Whether a memory.grow failed during the call, where the instance knows (a preempt-instrumented module). */
  growFailed?: boolean | undefined;
  /** Why the guest thread ended by itself, if it did (worker tier). */
  died?: Error | undefined;
}

/**
 * A failed call as the CallError callers get: the guest's own error, ETIMEOUT, EMEMORY, ETOOBIG
 * (Extism handles) or ETRAP.
 * @example
 * throw classify(e, { where: 'acme.x/greet', memoryPages: 256, memoryBytes: guest.memoryBytes })
 */
export function classify(e: unknown, at: FailureContext): CallError {
  if (e instanceof CallError) return e;
  const limit = limitError(e);
  if (limit) return limit;
  // Node ends a thread that reaches its heap limits with ERR_WORKER_OUT_OF_MEMORY.
  const died = at.died ?? (isOutOfMemory(e) ? (e as Error) : undefined);
  if (died) {
    const oom = isOutOfMemory(died);
    return new CallError(oom ? 'EMEMORY' : 'ETRAP', `${at.where}: the worker thread ${oom ? 'ran out of heap' : 'died'} during the call (${died.message})`, {
      trap: died.message,
      workerDied: true,
    });
  }
  const message = messageOf(e);
  const guest = guestError(message);
  if (guest) return guest;
  // An allocator traps when memory.grow fails (AssemblyScript's with `unreachable`): where the
  // instance saw the grow fail, that is memory exhaustion. Where it cannot see it (a module not
  // instrumented), a trap with over half the cap in use is taken as one, since AssemblyScript's
  // allocator doubles memory; a single allocation larger than what is left stays ETRAP there.
  if (at.growFailed ?? at.memoryBytes * 2 > at.memoryPages * 65536) {
    return new CallError('EMEMORY', `${at.where}: reached the memory cap of ${at.memoryPages} pages (${message})`, { memoryPages: at.memoryPages });
  }
  return new CallError('ETRAP', `${at.where} trapped: ${message}`, { trap: message });
}

/**
 * Why an instance could not be created (its start function trapped, looped or ran into a limit), typed.
 * @example
 * const guest = await GuestPlugin.create(options).catch((e: unknown) => { throw startError('acme.x', e) })
 */
export function startError(name: string, e: unknown): CallError {
  if (e instanceof CallError) return e;
  if (e instanceof GuestStartTimeout) return new CallError('ETIMEOUT', `${name}: ${e.message}`, { timeoutMs: e.timeoutMs, phase: e.phase });
  const limit = limitError(e);
  if (limit) return limit;
  const message = messageOf(e);
  return new CallError('ETRAP', `${name}: could not start: ${message}`, { trap: message });
}

/**
 * The input of `mcp0_init` (the module's config as CBOR), or undefined when the module does not export it.
 * @example
 * const input = initInput(compiled, config); if (input) await instance.call(GUEST_EXPORTS.init, input)
 */
export function initInput(compiled: WebAssembly.Module, config: CborValue): Uint8Array | undefined {
  return WebAssembly.Module.exports(compiled).some((e) => e.name === GUEST_EXPORTS.init) ? encodeCbor(config) : undefined;
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : String(e);
}

/** A limit of the Extism layer (extism/) that a call or start ran into, in this thread or a guest thread. */
function limitError(e: unknown): CallError | undefined {
  const limit = e instanceof LimitError ? e : e instanceof GuestFailure ? e.error : undefined;
  return limit && new CallError(limit.code, limit.message, limit.details);
}

function isOutOfMemory(e: unknown): boolean {
  return (e as { code?: unknown } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}
