/**
 * The role suites: the registry (open to more roles) with the suites of the standard roles
 * registered: storage, trace, agreements and rpc.
 */
import { agreementsSuite, AGREEMENTS_ROLE } from './agreements.js';
import { registerRoleSuite } from './registry.js';
import { rpcSuite, RPC_ROLE } from './rpc.js';
import { storageSuite, STORAGE_ROLE } from './storage/index.js';
import { traceSuite, TRACE_ROLE } from './trace.js';

registerRoleSuite(STORAGE_ROLE, storageSuite);
registerRoleSuite(TRACE_ROLE, traceSuite);
registerRoleSuite(AGREEMENTS_ROLE, agreementsSuite);
registerRoleSuite(RPC_ROLE, rpcSuite);

export { roleSuites, registerRoleSuite, suitesFor, unknownRoles, type RoleSuite } from './registry.js';
export { storageSuite, STORAGE_ROLE } from './storage/index.js';
export { traceSuite, TRACE_ROLE } from './trace.js';
export { agreementsSuite, AGREEMENTS_ROLE } from './agreements.js';
export { rpcSuite, RPC_ROLE } from './rpc.js';
