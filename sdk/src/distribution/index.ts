/** Distributions: signed lockfiles of plugins, grants, pipeline order and budgets (ARCHITECTURE.md §7). */
export * from './types.js';
export {
  distributionSchema,
  validateDistribution,
  parseDistribution,
  readDistribution,
  writeDistribution,
  canonicalDistribution,
  unsignedPart,
  MAX_DOCUMENT_BYTES,
} from './document.js';
export { keyEntry, entryKey } from './keys.js';
export { formatGrant, parseGrants, covers, grantChange } from './grants.js';
export { sha256Hex, readArtifact, MAX_ARTIFACT_BYTES } from './files.js';
export { signDistribution, verifySignature } from './sign.js';
export { diffDistributions } from './diff.js';
export {
  checkContents,
  checkDistribution,
  verifyDistribution,
  distributionError,
  type DistributionProblem,
  type DistributionReport,
  type CheckedPlugin,
  type TrustOptions,
} from './verify.js';
export { lockDistribution } from './lock.js';
export { loadDistribution } from './load.js';
export { createDistribution, addPlugin, removePlugin, changeGrants, setPipeline, type NewDistribution, type AddOptions } from './edit.js';
