/**
 * The role contracts at run time: each role's JSON Schema (abi/schema/roles, explained in
 * abi/ROLES.md) compiled with ajv, so a caller checks what it sends and, above all, what a plugin
 * answers. A plugin is only trusted to be signed, not to be right: an answer that breaks its role's
 * contract is a typed error naming the member, never a value typed as something it is not.
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { CallError, describe, Mcp0Error } from '../errors/index.js';
import { agreementSchema } from '../agreement/index.js';
import { ROLE_NAMES, type RoleName } from './names.js';
import type { AgreementsExports, AgreementsRecords } from './generated/agreements.js';
import type { StorageExports, StorageRecords } from './generated/storage.js';
import type { TraceExports, TraceRecords } from './generated/trace.js';
import type { RpcExports, RpcRecords } from './generated/rpc.js';

const require = createRequire(import.meta.url);

/**
 * Each role's JSON Schema, as shipped in `abi/schema/roles/`: `definitions["<export>.request"]` and
 * `definitions["<export>.response"]` for every export.
 * @example
 * Object.keys(ROLE_SCHEMAS.trace.definitions) // ['uint', 'uint64', 'field', …, 'head.request', 'head.response', …]
 */
export const ROLE_SCHEMAS: Readonly<Record<RoleName, { $id: string; title: string; 'x-optional-exports'?: string[]; definitions: Record<string, object> }>> = {
  storage: require('../../schema/roles/storage.schema.json'),
  agreements: require('../../schema/roles/agreements.schema.json'),
  trace: require('../../schema/roles/trace.schema.json'),
  rpc: require('../../schema/roles/rpc.schema.json'),
};

/**
 * Every role's exports, each with its request and response type (generated from the schemas).
 * @example
 * type Head = RoleContracts['trace']['head']['response'] // { seq: number | bigint | null; head: string }
 */
export interface RoleContracts {
  storage: StorageExports;
  agreements: AgreementsExports;
  trace: TraceExports;
  rpc: RpcExports;
}

/**
 * Every role's public kv records (the `kv.*` definitions): what others may read from its plugin's kv.
 * @example
 * type Head = RoleRecords['trace']['kv.head'] // { seq: number; head: string }
 */
export interface RoleRecords {
  storage: StorageRecords;
  agreements: AgreementsRecords;
  trace: TraceRecords;
  rpc: RpcRecords;
}

/**
 * An export of role `R`.
 * @example
 * const e: RoleExport<'storage'> = 'snapshot'
 */
export type RoleExport<R extends RoleName> = keyof RoleContracts[R] & string;
/**
 * What export `E` of role `R` takes.
 * @example
 * const request: RoleRequest<'storage', 'snapshot'> = { agent: 'acme.notes' }
 */
export type RoleRequest<R extends RoleName, E extends RoleExport<R>> = RoleContracts[R][E] extends { request: infer Q } ? Q : never;
/**
 * What export `E` of role `R` answers.
 * @example
 * const { root, version }: RoleResponse<'storage', 'snapshot'> = answer
 */
export type RoleResponse<R extends RoleName, E extends RoleExport<R>> = RoleContracts[R][E] extends { response: infer A } ? A : never;

/**
 * The exports of a role, in the order its contract lists them; with `required`, only those every
 * plugin of the role must have (the contract's `x-optional-exports` may be left out).
 * @example
 * roleExports('trace') // ['poseidon', 'poseidon_batch', 'head', 'get', 'range', 'verifyRange']
 * roleExports('trace', { required: true }) // the same without 'poseidon_batch'
 */
export function roleExports<R extends RoleName>(role: R, options: { required?: boolean } = {}): readonly RoleExport<R>[] {
  const optional = options.required === true ? (ROLE_SCHEMAS[role]['x-optional-exports'] ?? []) : [];
  return Object.keys(ROLE_SCHEMAS[role].definitions)
    .filter((k) => k.endsWith('.request'))
    .map((k) => k.slice(0, -'.request'.length))
    .filter((e) => !optional.includes(e)) as RoleExport<R>[];
}

const MAX_U64 = 2n ** 64n - 1n;

/** What a CBOR-only type (`x-cbor`) accepts; JSON Schema has no bytes and no integers past 2^53. */
const CBOR_KINDS: Record<string, (v: unknown) => boolean> = {
  bytes: (v) => v instanceof Uint8Array,
  bytes32: (v) => v instanceof Uint8Array && v.length === 32,
  uint64: (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) || (typeof v === 'bigint' && v >= 0n && v <= MAX_U64),
};
const KIND_NAMES: Record<string, string> = { bytes: 'bytes', bytes32: '32 bytes', uint64: 'an integer from 0 to 2^64 − 1' };

let ajv: Ajv | undefined;
/** One validator per process, made when first needed: compiling costs tens of milliseconds. */
function validator(): Ajv {
  if (ajv !== undefined) return ajv;
  const made = new Ajv({ allErrors: true, strict: true, verbose: true });
  made.addKeyword({ keyword: 'tsType', schemaType: 'string' });
  made.addKeyword({ keyword: 'x-optional-exports', schemaType: 'array' });
  const cbor = (kind: string, data: unknown): boolean => {
    const ok = CBOR_KINDS[kind]?.(data) ?? false;
    if (!ok) cbor.errors = [{ keyword: 'x-cbor', message: `expected ${KIND_NAMES[kind] ?? kind}, got ${describe(data)}`, params: { kind } }];
    return ok;
  };
  cbor.errors = [] as Partial<ErrorObject>[];
  made.addKeyword({ keyword: 'x-cbor', schemaType: 'string', validate: cbor, errors: true });
  made.addSchema(agreementSchema);
  for (const schema of Object.values(ROLE_SCHEMAS)) made.addSchema(schema);
  ajv = made;
  return made;
}

type Side = 'request' | 'response';

function compiled(role: RoleName, definition: string): ValidateFunction {
  const schema = ROLE_SCHEMAS[role];
  const fn = validator().getSchema(`${schema.$id}#/definitions/${definition}`);
  if (fn === undefined) throw new CallError('EINTERNAL', `${ROLE_NAMES[role]}: the ${definition} schema did not compile`);
  return fn;
}

function exportDefinition(role: RoleName, exportName: string, side: Side): string {
  if (!Object.hasOwn(ROLE_SCHEMAS[role].definitions, `${exportName}.${side}`))
    throw new CallError('ENOTFOUND', `${ROLE_NAMES[role]} has no export ${JSON.stringify(exportName)}: expected one of ${roleExports(role).join(', ')}`, {
      role,
      export: exportName,
    });
  return `${exportName}.${side}`;
}

/** ajv's errors as people read them: where, and what was expected and what came. */
function problems(errors: readonly ErrorObject[]): string[] {
  const seen = new Set<string>();
  for (const e of errors) {
    // anyOf and oneOf repeat their branches' errors; the branches say more.
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const got = e.keyword === 'x-cbor' ? '' : `, got ${describe(e.data)}`;
    seen.add(`${e.instancePath || '/'} ${e.message ?? 'is invalid'}${got}`);
  }
  return [...seen];
}

function check(role: RoleName, exportName: string, side: Side, value: unknown): void {
  const validate = compiled(role, exportDefinition(role, exportName, side));
  if (validate(value)) return;
  const list = problems(validate.errors ?? []);
  const whose = side === 'request' ? 'the request' : "the plugin's answer";
  throw new CallError('EINPUT', `${ROLE_NAMES[role]} ${exportName}: ${whose} breaks the role's contract: ${list.join('; ')}`, {
    role,
    export: exportName,
    side,
    problems: list,
  });
}

/**
 * Throws `EINPUT`, naming each member that is wrong, unless `value` is a request export `E` of
 * role `R` takes (`ENOTFOUND` for an export the role does not have).
 * @example
 * checkRoleRequest('storage', 'snapshot', { agent: 'acme.notes' })
 */
export function checkRoleRequest<R extends RoleName, E extends RoleExport<R>>(role: R, exportName: E, value: unknown): asserts value is RoleRequest<R, E> {
  check(role, exportName, 'request', value);
}

/**
 * `value`, typed, when it is an answer export `E` of role `R` may give; else `EINPUT`, naming
 * each member that breaks the contract. Call it on everything a role's plugin answers.
 * @example
 * const { root, version } = checkRoleResponse('storage', 'snapshot', await call('snapshot', { agent }))
 */
export function checkRoleResponse<R extends RoleName, E extends RoleExport<R>>(role: R, exportName: E, value: unknown): RoleResponse<R, E> {
  check(role, exportName, 'response', value);
  return value as RoleResponse<R, E>;
}

/**
 * `value`, typed, when it is record `name` of role `R`'s public kv layout (read from `where`, for
 * the message); else `ESTATE` naming each member that is wrong: a store holding what no plugin of
 * the role writes has been damaged or tampered with.
 * @example
 * const { seq, head } = checkRoleRecord('trace', 'kv.head', decodeCbor(bytes), 'mcp0.trace trace/head')
 */
export function checkRoleRecord<R extends RoleName, N extends keyof RoleRecords[R] & string>(
  role: R,
  name: N,
  value: unknown,
  where: string,
): RoleRecords[R][N] {
  if (!Object.hasOwn(ROLE_SCHEMAS[role].definitions, name) || !name.startsWith('kv.'))
    throw new CallError('ENOTFOUND', `${ROLE_NAMES[role]} has no public kv record ${JSON.stringify(name)}`, { role, record: name });
  const validate = compiled(role, name);
  if (!validate(value)) {
    const list = problems(validate.errors ?? []);
    throw new Mcp0Error('ESTATE', `${where}: not a ${ROLE_NAMES[role]} ${name} record: ${list.join('; ')}`, { role, record: name, where, problems: list });
  }
  return value as RoleRecords[R][N];
}
