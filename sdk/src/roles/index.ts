/** Typed clients of the roles' contracts (abi/ROLES.md): what the node, the CLI and the conformance suites call plugins through. */
export { roleClient, roleClients, type RoleClient, type RoleClients, type RoleCall } from './client.js';
