/** The MongoDB store: `MongoStore`, its options and defaults (store.ts says how it works). */
export { MongoStore } from './store.js';
export { MONGO_DEFAULTS, type MongoStoreOptions } from './options.js';
