/**
 * Calls for the role suites: CBOR in and out through the kernel, with failures turned into case
 * failures that name the call, what was expected and what came.
 */
import { Mcp0Error, type CborValue } from '@mcp0/abi';
import type { Kernel } from '@mcp0/kernel';
import { CaseFailure } from '../../runner/case.js';
import { describeError } from '../harness.js';

/**
 * A bound caller for one plugin: `call(export, input)` → the decoded output.
 * @example
 * const call: Caller = caller(kernel, 'mcp0.storage')
 */
export type Caller = <T = any>(exportName: string, input: unknown) => Promise<T>;

/**
 * A caller that fails the case, naming the call, when the call errs.
 * @example
 * const call = caller(kernel, 'mcp0.storage'); await call('put', { agent, key, value })
 */
export function caller(kernel: Kernel, plugin: string): Caller {
  return async (exportName, input) => {
    try {
      return (await kernel.callValue(plugin, exportName, input as CborValue)) as never;
    } catch (e) {
      throw new CaseFailure(`${exportName}: expected an answer, got ${describeError(e)}`, { export: exportName });
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
