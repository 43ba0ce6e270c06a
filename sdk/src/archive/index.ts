/** Backup and restore of an agent's `mcp0.storage` state as sealed, self-verifying archives. */
export {
  ARCHIVE_FORMAT,
  archiveSigner,
  exportAgent,
  importAgent,
  readArchive,
  type ArchiveInfo,
  type ArchiveStore,
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
  type ReadOptions,
} from './archive.js';
export { STORAGE_MODULE, headRef } from './format.js';
export { SEAL_TYPE, type SealBody } from './seal.js';
