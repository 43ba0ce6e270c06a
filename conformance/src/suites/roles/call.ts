/**
 * Calls for the role suites: CBOR in and out through the kernel, with failures turned into case
 * failures that name the call, what was expected and what came.
 */
import {
  checkRoleRecord,
  checkRoleResponse,
  decodeCbor,
  Mcp0Error,
  type CborValue,
  type RoleExport,
  type RoleName,
  type RoleRecords,
  type RoleResponse,
} from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import { CaseFailure } from '../../runner/case.js';
import { describeError, type Bench } from '../harness.js';

/**
 * A bound caller for the plugin filling role `R`: `call(export, input)` → its answer, typed by the
 * role's contract. Inputs are not checked (a suite probes edges the contract leaves to the plugin);
 * every answer is.
 * @example
 * const call: Caller<'storage'> = caller(kernel, 'mcp0.storage', 'storage')
 */
export type Caller<R extends RoleName> = <E extends RoleExport<R>>(exportName: E, input: unknown) => Promise<RoleResponse<R, E>>;

/**
 * A caller that fails the case, naming the call, when the call errs or its answer breaks the
 * role's contract (abi/ROLES.md): every answer of every case is checked against the role's schema.
 * @example
 * const call = caller(kernel, 'mcp0.storage', 'storage'); await call('put', { agent, key, value })
 */
export function caller<R extends RoleName>(kernel: Pick<Kernel, 'callValue'>, plugin: string, role: R): Caller<R> {
  return async (exportName, input) => {
    let answer: CborValue;
    try {
      answer = await kernel.callValue(plugin, exportName, input as CborValue);
    } catch (e) {
      throw new CaseFailure(`${exportName}: expected an answer, got ${describeError(e)}`, { export: exportName });
    }
    try {
      return checkRoleResponse(role, exportName, answer);
    } catch (e) {
      throw new CaseFailure(`${exportName}: ${(e as Error).message}`, { export: exportName, answer: brief(answer) });
    }
  };
}

/**
 * The typed error a call fails with; fails the case when it succeeds or fails untyped.
 * @example
 * const e = await failure(kernel.callValue(name, 'get', { key: 'x'.repeat(2000) }), 'get with a 2,000-byte key')
 */
export async function failure(work: Promise<unknown>, what: string): Promise<Mcp0Error> {
  let value: unknown;
  try {
    value = await work;
  } catch (e) {
    if (e instanceof Mcp0Error) return e;
    throw new CaseFailure(`${what}: expected a typed error, got ${describeError(e)}`);
  }
  throw new CaseFailure(`${what}: expected a typed error, got a result: ${brief(value)}`);
}

/**
 * A value in a message, kept short; bytes as `<n bytes>`.
 * @example
 * brief({ root: new Uint8Array(32) }) // '{"root":"<32 bytes>"}'
 */
export function brief(v: unknown): string {
  const text = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  return text === undefined ? String(v) : text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

/**
 * Byte equality for values that may be bytes or null.
 * @example
 * sameBytes(Uint8Array.of(1), Uint8Array.of(1)) // true
 */
export function sameBytes(a: unknown, b: unknown): boolean {
  return a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.compare(a, b) === 0 : a === b;
}

/**
 * A value as JSON with map keys sorted, bytes as hex: equal texts mean equal values whatever the key order.
 * @example
 * canonical({ b: 1, a: 2 }) === canonical({ a: 2, b: 1 }) // true
 */
export function canonical(v: unknown): string {
  const norm = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return `bytes:${Buffer.from(x).toString('hex')}`;
    if (typeof x === 'bigint') return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : `${x}n`;
    if (Array.isArray(x)) return x.map(norm);
    if (x !== null && typeof x === 'object')
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, norm((x as Record<string, unknown>)[k])]),
      );
    return x;
  };
  return JSON.stringify(norm(v)) ?? 'undefined';
}

/**
 * Record `name` of role `R`'s public kv layout (abi/ROLES.md) as the plugin under test stored it at
 * `key` in its namespace, checked against the contract; fails the case when it is missing or breaks it.
 * @example
 * const head = publicRecord(b, 'trace', 'kv.head', TRACE_HEAD_KEY)
 */
export function publicRecord<R extends RoleName, N extends keyof RoleRecords[R] & string>(b: Bench, role: R, name: N, key: string): RoleRecords[R][N] {
  const where = `${b.module.name} ${key}`;
  const bytes = b.kv.get(b.module.name, key);
  if (bytes === undefined) throw new CaseFailure(`public kv layout: expected a ${name} record at ${where}, found none`);
  try {
    return checkRoleRecord(role, name, decodeCbor(bytes), where);
  } catch (e) {
    throw new CaseFailure(`public kv layout: ${(e as Error).message}`);
  }
}
