/** Block and kv stores: the Store type, `openStore(uri)`, and the LMDB, memory and MongoDB implementations. */
export { type Store, STORE_LIMITS } from './types.js';
export { type StoreFaults, type StoreDamage } from './faults.js';
export { openStore, STORE_SCHEMES, type OpenStoreOptions } from './open.js';
export { LmdbStore, type LmdbOptions } from './lmdb.js';
export { MemoryStore, type MemoryStoreOptions } from './memory.js';
export { MongoStore, type MongoStoreOptions, MONGO_DEFAULTS } from './mongo/index.js';
export { SyncStore, type RawSpaces } from './sync-store.js';
export { sha256 as blockId } from './codec.js';
export { type BlockEntry, type DeleteBlocksOptions } from './types.js';
export {
  collectGarbage, GC_DEFAULTS, type GcOptions, type GcReport, type GcProgress, type GcAgentMark, type GcFailure, type GcDamage, type GcMalformed, type GcMarking,
} from './gc.js';
export { MongoSyncStore, type MongoSyncStoreOptions } from './bridge.js';
