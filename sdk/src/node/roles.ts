/**
 * The roles a node talks to (storage, agreements, trace): found by what a plugin's manifest
 * `provides`, never by its name, so any plugin that passes a role's conformance suite may stand in.
 */
import { CallError, ROLE_NAMES, type CborValue, type RoleName } from '@mcp0/abi';
import type { Kernel, LoadedModule } from '@mcp0/kernel';

/**
 * The roles the node talks to by what they provide, never by name.
 * @example
 * if (node.hasRole('trace')) console.log(await node.callRole('trace', 'head', {}))
 */
export const ROLES = ROLE_NAMES;

/**
 * A role's short name.
 * @example
 * const role: Role = 'storage'
 */
export type Role = RoleName;

/**
 * The loaded plugin that provides `role`; EUNAVAILABLE, naming the distribution, when none does.
 * @example
 * const storage = roleModule(kernel, 'standard', 'storage') // storage.name === 'mcp0.storage'
 */
export function roleModule(kernel: Kernel, distribution: string, role: Role): LoadedModule {
  const m = kernel.modules().find((x) => x.manifest.provides?.includes(ROLES[role]));
  if (!m) throw new CallError('EUNAVAILABLE', `the distribution ${distribution} has no plugin providing ${ROLES[role]}`, { role: ROLES[role] });
  return m;
}

/**
 * True when a loaded plugin provides `role`.
 * @example
 * if (providesRole(kernel, 'agreements')) await callRole(kernel, 'standard', 'agreements', 'unbind', { agent })
 */
export function providesRole(kernel: Kernel, role: Role): boolean {
  return kernel.modules().some((m) => m.manifest.provides?.includes(ROLES[role]));
}

/**
 * Calls `exportName` of the plugin that provides `role`; EUNAVAILABLE when none does.
 * @example
 * await callRole(kernel, 'standard', 'storage', 'snapshot', { agent: 'agent-1' }) // { root, version }
 */
export function callRole(kernel: Kernel, distribution: string, role: Role, exportName: string, value: CborValue): Promise<CborValue> {
  return kernel.callValue(roleModule(kernel, distribution, role).name, exportName, value);
}
