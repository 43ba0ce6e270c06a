/**
 * The stores as the SDK's entry exports them: the Store type, `openStore(uri)`, the memory store
 * and gc. The LMDB and MongoDB implementations are not here (their drivers load only when used):
 * they are `@mcp0/sdk/lmdb` and `@mcp0/sdk/mongo`.
 */
export { type Store, STORE_LIMITS } from './types.js';
export { type StoreFaults, type StoreDamage } from './faults.js';
export { openStore, STORE_SCHEMES, type OpenStoreOptions } from './open.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { type BlockEntry, type DeleteBlocksOptions } from './types.js';
export {
  collectGarbage,
  GC_DEFAULTS,
  type GcOptions,
  type GcReport,
  type GcProgress,
  type GcAgentMark,
  type GcFailure,
  type GcDamage,
  type GcMalformed,
  type GcMarking,
} from './gc.js';
