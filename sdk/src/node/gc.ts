/**
 * gc for a running node: the collector of ../store/gc.ts over the node's store, marking through
 * the node's storage role. Everything the node keeps is marked: what each agent's head reaches (with
 * the retention `keep`), each agent's module and the trees of its recorded snapshots.
 */
import { CallError, type CborValue } from '@mcp0/abi';
import { collectGarbage, type GcOptions, type GcReport } from '../store/gc.js';
import type { Node } from './node.js';
import { ROLES } from './roles.js';

/**
 * Options of `collectNodeGarbage`: those of `collectGarbage` the node does not supply.
 * @example
 * const options: NodeGcOptions = { keep: 20, graceMs: 30 * 60_000, dryRun: true }
 */
export type NodeGcOptions = Omit<GcOptions, 'store' | 'call' | 'namespace'>;

/**
 * Collects the garbage of `node`'s store (see `collectGarbage`): the storage role marks each agent's
 * head, the node's records add the agents' modules and recorded snapshots, and the blocks nobody
 * marked that are older than the grace period are deleted. EUNAVAILABLE without a storage role.
 * @example
 * const report = await collectNodeGarbage(node, { keep: 20 })
 * console.log(`${report.swept} blocks freed; ${report.live} kept (${report.pinned} for the node's records)`)
 */
export function collectNodeGarbage(node: Node, options: NodeGcOptions = {}): Promise<GcReport> {
  const storage = node.kernel.modules().find((m) => m.manifest.provides?.includes(ROLES.storage));
  if (!storage)
    return Promise.reject(
      new CallError(
        'EUNAVAILABLE',
        `the distribution ${node.distribution.name} has no plugin providing ${ROLES.storage}: nothing marks the agents' state, so gc cannot run`,
        { role: ROLES.storage },
      ),
    );
  return collectGarbage({
    ...options,
    store: node.store,
    namespace: storage.name,
    call: (exportName, input) => node.callRole('storage', exportName, input as CborValue),
  });
}
