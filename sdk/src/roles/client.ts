/**
 * Typed role clients: `node.roles.storage.snapshot({ agent })`, `node.roles.trace.head()`. Each
 * export of a role's contract (abi/ROLES.md) becomes a method that checks its request and, since a
 * plugin is only trusted to be signed and not to be right, the plugin's answer: an answer that
 * breaks the contract is an EINPUT error naming the member, never a value typed as what it is not.
 */
import {
  checkRoleRequest,
  checkRoleResponse,
  ROLE_NAMES,
  roleExports,
  type CborValue,
  type RoleExport,
  type RoleName,
  type RoleRequest,
  type RoleResponse,
} from '@mcp0/abi';

/**
 * A role's exports as methods; an export whose request has no required member (trace's `head`)
 * may be called without one.
 * @example
 * const head: RoleClient<'trace'>['head'] = node.roles.trace.head
 */
export type RoleClient<R extends RoleName> = {
  readonly [E in RoleExport<R>]: {} extends RoleRequest<R, E>
    ? (request?: RoleRequest<R, E>) => Promise<RoleResponse<R, E>>
    : (request: RoleRequest<R, E>) => Promise<RoleResponse<R, E>>;
};

/**
 * A client for every role.
 * @example
 * const { root } = await node.roles.storage.snapshot({ agent: 'acme.notes' })
 */
export type RoleClients = { readonly [R in RoleName]: RoleClient<R> };

/** Calls one export of whichever plugin fills the role: the client's only way to a plugin. */
export type RoleCall = (exportName: string, value: CborValue) => Promise<CborValue>;

/**
 * A typed client of `role` over `call`.
 * @example
 * const trace = roleClient('trace', (e, v) => kernel.callValue('mcp0.trace', e, v))
 * const { seq, head } = await trace.head()
 */
export function roleClient<R extends RoleName>(role: R, call: RoleCall): RoleClient<R> {
  const client: Record<string, (request?: unknown) => Promise<unknown>> = {};
  for (const exportName of roleExports(role)) {
    client[exportName] = async (request: unknown = {}) => {
      checkRoleRequest(role, exportName, request);
      return checkRoleResponse(role, exportName, await call(exportName, request as CborValue));
    };
  }
  return client as RoleClient<R>;
}

/**
 * A typed client for every role, over `call(role, export, value)`.
 * @example
 * const roles = roleClients((role, e, v) => callRole(kernel, 'standard', role, e, v))
 */
export function roleClients(call: (role: RoleName, exportName: string, value: CborValue) => Promise<CborValue>): RoleClients {
  const of = <R extends RoleName>(role: R) => roleClient(role, (e, v) => call(role, e, v));
  return { storage: of('storage'), agreements: of('agreements'), trace: of('trace'), rpc: of('rpc') } satisfies Record<keyof typeof ROLE_NAMES, unknown>;
}
