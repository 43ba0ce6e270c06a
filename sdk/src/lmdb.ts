/**
 * @mcp0/sdk/lmdb: the embedded, durable store. `openStore('lmdb:<dir>')` opens one for you; import
 * this only to open it with options of your own.
 * @example
 * import { LmdbStore } from '@mcp0/sdk/lmdb'
 * const store = LmdbStore.open('./data')
 */
export { LmdbStore, type LmdbOptions } from './store/lmdb.js';
