/** The module manifest: types, schema validation, canonical form, and its custom section. */
export * from './types.js';
export * from './manifest.js';
export * from './export-schemas.js';
