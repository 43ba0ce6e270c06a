/**
 * @mcp0/sdk/archive: an agent's state as one signed, self-contained file (export, import, read).
 * @example
 * import { exportAgent } from '@mcp0/sdk/archive'
 * const bytes = await exportAgent(store, agentId, { key })
 */
export * from './archive/index.js';
