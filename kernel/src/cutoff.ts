/**
 * When a call stops being wanted: its deadline and its caller's cancellation. An operation carries
 * one cutoff down every hop (admit hooks, the agent's export, the modules it calls); a call still
 * waiting for a module when its cutoff comes leaves the queue and never runs. A call already
 * running is not cut: it finishes within its module's own time limit, and what it did is traced,
 * so a caller that gave up learns "may have run", never a half-run module.
 */
import { CallError, UsageError } from '@mcp0/abi';

/**
 * A call's cutoff.
 * @example
 * const cutoff: Cutoff = { deadline: Date.now() + 50, signal: controller.signal }
 */
export interface Cutoff {
  /** Wall-clock ms since the epoch (`Date.now()`) after which the call must not begin. */
  deadline?: number;
  /** Aborted when the caller stops waiting. */
  signal?: AbortSignal;
}

/**
 * The error of a call cut before it began: ETIMEOUT, with `details.cutoff` saying why. Its module
 * did nothing, so no instance is replaced and no failure is counted.
 * @example
 * cutoffError('deadline', 'notes/remember') // CallError ETIMEOUT
 */
export function cutoffError(why: 'deadline' | 'cancelled', what: string): CallError {
  return new CallError(
    'ETIMEOUT',
    why === 'deadline' ? `${what}: the call's deadline passed before it began` : `${what}: the caller cancelled the call before it began`,
    { cutoff: why },
  );
}

/**
 * True for an error `cutoffError` made: the call did not run.
 * @example
 * if (isCutoff(e)) retryWithMoreTime()
 */
export function isCutoff(error: unknown): boolean {
  return error instanceof CallError && error.code === 'ETIMEOUT' && (error.details.cutoff === 'deadline' || error.details.cutoff === 'cancelled');
}

/**
 * The cutoff error when `cutoff` has come, else undefined.
 * @example
 * const late = cutoffReached(state.cutoff, 'notes/remember'); if (late) throw late
 */
export function cutoffReached(cutoff: Cutoff | undefined, what: string): CallError | undefined {
  if (cutoff === undefined) return undefined;
  if (cutoff.signal?.aborted) return cutoffError('cancelled', what);
  if (cutoff.deadline !== undefined && Date.now() >= cutoff.deadline) return cutoffError('deadline', what);
  return undefined;
}

/**
 * A cutoff from a caller's options, checked: a deadline is a finite number of ms, a signal an
 * AbortSignal. Undefined when neither is given, so calls without one pay nothing.
 * @example
 * const cutoff = checkCutoff({ deadline: Date.now() + 50 })
 */
export function checkCutoff(options: { deadline?: unknown; signal?: unknown }): Cutoff | undefined {
  const { deadline, signal } = options;
  if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline)))
    throw new UsageError('EUSAGE', `deadline: expected ms since the epoch (a finite number), got ${String(deadline)}`);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new UsageError('EUSAGE', `signal: expected an AbortSignal, got ${typeof signal}`);
  if (deadline === undefined && signal === undefined) return undefined;
  return { ...(deadline === undefined ? {} : { deadline }), ...(signal === undefined ? {} : { signal }) };
}

/**
 * Waits for `enqueue`'s wake-up unless the cutoff comes first; then `dequeue` takes the waiter
 * back out and the promise rejects with the cutoff error. The waiter never runs after that.
 * @example
 * await waitUnlessCut(cutoff, 'notes/remember', (wake) => queue.push(wake), (wake) => remove(queue, wake))
 */
export function waitUnlessCut(cutoff: Cutoff, what: string, enqueue: (wake: () => void) => void, dequeue: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const { signal, deadline } = cutoff;
    const done = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const wake = () => {
      done();
      resolve();
    };
    const giveUp = (why: 'deadline' | 'cancelled') => {
      done();
      dequeue(wake);
      reject(cutoffError(why, what));
    };
    const onAbort = () => giveUp('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== undefined) timer = setTimeout(() => giveUp('deadline'), Math.max(0, deadline - Date.now()));
    enqueue(wake);
  });
}
