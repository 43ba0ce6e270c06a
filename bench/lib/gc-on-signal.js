/**
 * Preloaded into a server the MCP benchmark measures (`node --expose-gc --import
 * ./bench/lib/gc-on-signal.js …`): on SIGUSR2 it collects the heap twice and says so on stderr,
 * so the benchmark reads the child's RSS after a full collection, not while garbage waits.
 */
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  process.stderr.write(`mcp0-bench: gc done (${typeof globalThis.gc === 'function' ? 'collected' : 'gc not exposed'})\n`);
});
