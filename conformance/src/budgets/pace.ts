/**
 * An open-loop pacer: operation i starts at its slot (start + i / rate) whether or not the earlier
 * ones have finished, as independent users would send them. A closed loop would slow down when the
 * node does and so hide the overload the budgets are there to catch.
 */

/**
 * Starts `count` operations at `rate` per second; resolves when every one has settled, with the
 * results in order.
 * @example
 * const results = await paced(100, 20, (i) => agent.execute('get', {}))
 */
export async function paced<T>(count: number, rate: number, op: (i: number) => Promise<T>, onSlot?: (i: number) => void): Promise<PromiseSettledResult<T>[]> {
  const start = performance.now();
  const running: Promise<PromiseSettledResult<T>>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    onSlot?.(i);
    // Started now, settled at the end: a slow operation never delays the next one's start. The
    // handlers are attached at once, so a failure while later slots wait is never "unhandled".
    running.push(
      Promise.resolve()
        .then(() => op(i))
        .then(
          (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
        ),
    );
  }
  return Promise.all(running);
}
