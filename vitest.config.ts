// One vitest run over every package. Workspace packages resolve to their TypeScript sources through
// the "source" export condition, so tests never run a stale dist/.
import { defineConfig } from 'vitest/config';

const conditions = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['{abi,builder,preempt,sandbox,kernel,sdk,conformance,tools}/{src,test}/**/*.test.ts', 'abi/as/test/**/*.test.ts', 'plugins/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Extism's WASI import warns in every thread; only --no-warnings reaches worker threads.
    execArgv: ['--no-warnings'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
