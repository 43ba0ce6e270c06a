/**
 * The served node's prover (TraceProof): one proof at a time in the process, since a proof takes
 * every core for seconds and two at once only make both late, and a flood of calls would otherwise
 * start as many provers. A call waits its turn under its cutoff (the proof checks it again before
 * it begins), and snarkjs's worker threads, which keep a process alive, are released when the server
 * that started them closes (a second server in the same process shares the prover).
 */
import { releaseZk } from '../zk/trace-batch.js';

let turn: Promise<unknown> = Promise.resolve();
let used = false;

/**
 * Runs `work` once every proof before it has settled.
 * @example
 * const file = await inProverTurn(() => proveTraceRange(node.store.kv, { from: 0, to: 3, costLimit: 1000 }))
 */
export function inProverTurn<T>(work: () => Promise<T>): Promise<T> {
  const mine = turn.then(() => {
    used = true;
    return work();
  });
  turn = mine.catch(() => undefined);
  return mine;
}

/**
 * Stops snarkjs's worker threads when a proof has started them. A proof still running (its call
 * cut by its deadline, or the server closing) fails with them; nobody waits for it any more.
 * @example
 * await releaseProver()
 */
export async function releaseProver(): Promise<void> {
  if (!used) return;
  used = false;
  // That proof may never settle now: the next one must not wait for it.
  turn = Promise.resolve();
  await releaseZk();
}
