// One vitest run over every package. Workspace packages resolve to their TypeScript sources through
// the "source" export condition, so tests never run a stale dist/.
import { defineConfig } from 'vitest/config';

const conditions = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: [
      '{abi,builder,preempt,sandbox,kernel,sdk,conformance,tools}/{src,test}/**/*.test.ts',
      'abi/as/test/**/*.test.ts',
      'plugins/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time, whatever the core count (vitest's default is one fewer than the
    // cores: one on the 2-core CI machine). Most files spend their time waiting on child processes,
    // worker threads and servers, so a second file nearly doubles the throughput; MCP0_TEST_WORKERS
    // overrides it (1 to run the files one by one).
    maxWorkers: Number(process.env.MCP0_TEST_WORKERS ?? 2),
    // Extism's WASI import warns in every thread; only --no-warnings reaches worker threads.
    execArgv: ['--no-warnings'],
    reporters: ['default', './test/summary-reporter.ts'],
    // A dependency that publishes its TypeScript under the same "source" condition (eventsource-parser,
    // under the MCP SDK's HTTP client) resolves to a .ts file, which Node cannot load: vitest
    // transforms it instead of handing it to Node.
    server: { deps: { inline: ['@modelcontextprotocol/sdk', 'eventsource-parser'] } },
  },
});
