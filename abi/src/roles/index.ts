/**
 * The roles' shared contract: their names, each export's request and response (the schemas in
 * abi/schema/roles, their generated types, their checks), the cost-unit formula, the public kv
 * layouts, and the trace role's cost cap. abi/ROLES.md is the prose.
 */
export { ROLE_NAMES, type RoleName } from './names.js';
export { costUnits } from './cost.js';
export { AGREEMENTS_NAMESPACE, agreementKey, bindingKey } from './agreements.js';
export { TRACE_NAMESPACE, TRACE_HEAD_KEY, traceEntryKey, MAX_CHAIN_COST, chainCost } from './trace.js';
export {
  ROLE_SCHEMAS,
  roleExports,
  checkRoleRequest,
  checkRoleResponse,
  checkRoleRecord,
  type RoleRecords,
  type RoleContracts,
  type RoleExport,
  type RoleRequest,
  type RoleResponse,
} from './contract.js';
export type * from './generated/storage.js';
export type * from './generated/agreements.js';
export type * from './generated/trace.js';
export type * from './generated/rpc.js';
