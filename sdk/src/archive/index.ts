/** Backup and restore of an agent's `mcp0.storage` state as self-verifying archives. */
export {
  ARCHIVE_FORMAT,
  exportAgent,
  importAgent,
  readArchive,
  type ArchiveInfo,
  type ArchiveStore,
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
} from './archive.js';
export { STORAGE_MODULE, headRef } from './format.js';
