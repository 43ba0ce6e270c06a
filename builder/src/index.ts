/** Building plugins from AssemblyScript: the compiler driver and the artifact build. */
export * from './asc.js';
export * from './build.js';
export { recordFile, type BuildRecord } from './incremental.js';
