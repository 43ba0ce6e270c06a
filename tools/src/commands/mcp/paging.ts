/**
 * How `mcp0 mcp` pages `resources/list`: constants the command line needs to check its options,
 * apart from `resources.ts` so that reading them loads none of the MCP SDK.
 */

/**
 * Resources per `resources/list` page by default: each key listed comes with its value from the
 * storage role (at most 1 MiB each), so a page is kept small.
 * @example
 * DEFAULT_RESOURCE_PAGE // 50
 */
export const DEFAULT_RESOURCE_PAGE = 50;

/**
 * The bounds of a page: room for the trace's two resources on the first, at most the storage
 * role's largest `list`.
 * @example
 * RESOURCE_PAGE_RANGE.max // 1000
 */
export const RESOURCE_PAGE_RANGE = { min: 2, max: 1000 } as const;
