/** Strict JSON text: JSON.parse that refuses duplicate member names, for every signed document. */
export { findDuplicateName, JsonError, parseJson } from './strict.js';
export { compileOnFirstUse } from './schema.js';
