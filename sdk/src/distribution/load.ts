/** Loading a distribution for a node: verify everything, then hand over bytes, grants and order. */
import type { CborValue } from '@mcp0/abi';
import type { LoadedDistribution } from './types.js';
import { resolve } from 'node:path';
import { entryKey } from './keys.js';
import { verifyDistribution, type TrustOptions } from './verify.js';

/**
 * Verify the distribution in `dir` and return what a node loads, plugins in load order. Throws the
 * verifier's `LoadError` naming every problem. `trust` is the trusted assembler keys; without it,
 * `trustEmbeddedDevKey: true` accepts the document's own assembler key (development builds only).
 * @example
 * const dist = await loadDistribution('distributions/standard/build', { trust: [parsePublicJwk(devKeyText)] })
 * const kernel = new Kernel({ trust: dist.publishers })
 * for (const p of dist.plugins) await kernel.load(p.bytes, { grants: p.grants, isolation: p.isolation, config: p.config })
 */
export async function loadDistribution(dir: string, options: TrustOptions = {}): Promise<LoadedDistribution> {
  const { document: doc, plugins } = await verifyDistribution(dir, options);
  return {
    dir: resolve(dir),
    name: doc.name,
    version: doc.version,
    publishers: doc.publishers.map((k) => entryKey(k, 'publisher')),
    plugins: plugins.map(({ entry, bytes, grants }) => ({
      name: entry.name,
      version: entry.version,
      bytes,
      grants,
      config: entry.config as CborValue,
      isolation: entry.isolation,
      ...(entry.preempt !== undefined ? { preempt: entry.preempt } : {}),
    })),
    pipeline: { admit: [...doc.pipeline.admit], observe: [...doc.pipeline.observe] },
    budgets: { ...doc.budgets },
  };
}
