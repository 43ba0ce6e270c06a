/**
 * The role registry: which suite holds a plugin to the contract of a role it `provides`
 * (`mcp0.storage@1` → the storage suite). Open: a distribution or a third party registers more.
 */
import { UsageError, type Manifest } from '@mcp0/abi';
import type { Suite } from '../../runner/case.js';
import type { PluginSubject } from '../../runner/subject.js';

/**
 * A role suite: any context type, run against a plugin.
 * @example
 * const s: RoleSuite = storageSuite
 */
export type RoleSuite = Suite<PluginSubject, any>;

/**
 * Role id (`<name>@<major>`) → its suite.
 * @example
 * roleSuites.get('mcp0.trace@1') // traceSuite
 */
export const roleSuites = new Map<string, RoleSuite>();

/** What a role id looks like: a dotted name and a major version. */
const ROLE_ID = /^[a-z0-9]+(?:[.-][a-z0-9]+)*@[0-9]+$/;

/**
 * Registers (or replaces) the suite of a role.
 * @example
 * registerRoleSuite('acme.search@1', searchSuite)
 */
export function registerRoleSuite(role: string, suite: RoleSuite): void {
  if (!ROLE_ID.test(role)) throw new UsageError('EUSAGE', `role: expected an id such as "mcp0.storage@1", got ${JSON.stringify(role)}`, { role });
  roleSuites.set(role, suite);
}

/**
 * The role suites a manifest's `provides` selects, in its order; roles with no suite are left out
 * (`unknownRoles` lists them, so a report can say so).
 * @example
 * suitesFor(manifest) // [storageSuite] for provides: ['mcp0.storage@1']
 */
export function suitesFor(manifest: Pick<Manifest, 'provides'>): RoleSuite[] {
  return (manifest.provides ?? []).flatMap((role) => {
    const suite = roleSuites.get(role);
    return suite ? [suite] : [];
  });
}

/**
 * The roles a manifest provides that no registered suite checks.
 * @example
 * unknownRoles({ provides: ['acme.search@1'] }) // ['acme.search@1']
 */
export function unknownRoles(manifest: Pick<Manifest, 'provides'>): string[] {
  return (manifest.provides ?? []).filter((role) => !roleSuites.has(role));
}
