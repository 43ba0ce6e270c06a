/**
 * @mcp0/sdk/mongo: the shared store on MongoDB, asynchronous (MongoStore) or answering inline
 * plugins synchronously through an I/O thread (MongoSyncStore, what a node uses).
 * `openStore('mongodb://…')` opens one for you; import this to open it with options of your own.
 * @example
 * import { MongoStore } from '@mcp0/sdk/mongo'
 * const store = await MongoStore.connect('mongodb://127.0.0.1:27017/mcp0')
 */
export { MongoStore, type MongoStoreOptions, MONGO_DEFAULTS } from './store/mongo/index.js';
export { MongoSyncStore, type MongoSyncStoreOptions } from './store/bridge.js';
