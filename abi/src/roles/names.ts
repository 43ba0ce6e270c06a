/**
 * The roles of ABI v1: what a plugin's manifest `provides` to fill one. A node finds a role's plugin
 * by this name, never by the plugin's own name, so any plugin that passes the role's conformance
 * suite may stand in. The one home of these names: the SDK, the conformance suites and the CLI
 * take them from here.
 */

/**
 * Each role's short name and the `name@major` its plugin provides.
 * @example
 * manifest.provides?.includes(ROLE_NAMES.trace) // true for the trace plugin
 */
export const ROLE_NAMES = { storage: 'mcp0.storage@1', agreements: 'mcp0.agreements@1', trace: 'mcp0.trace@1', rpc: 'mcp0.rpc@1' } as const;

/**
 * A role's short name.
 * @example
 * const role: RoleName = 'storage'
 */
export type RoleName = keyof typeof ROLE_NAMES;
