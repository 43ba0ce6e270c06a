/**
 * A stand-in for `node:worker_threads` whose Worker records every instance, so a test can kill a
 * guest thread from outside the kernel, as a crash would. Use it from a test file:
 *
 *   vi.mock('node:worker_threads', async (original) => (await import('<this file>')).recording(await original()));
 *
 * and read `workers`. It must not import node:worker_threads itself: it gets the real one passed in.
 */
import type * as WorkerThreads from 'node:worker_threads';

/** Every Worker created since the test file started, oldest first. */
export const workers: WorkerThreads.Worker[] = [];

/** The real module, with a Worker that records itself in `workers`. */
export function recording(actual: typeof WorkerThreads): typeof WorkerThreads {
  class RecordedWorker extends actual.Worker {
    constructor(...args: ConstructorParameters<typeof actual.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...actual, Worker: RecordedWorker };
}
