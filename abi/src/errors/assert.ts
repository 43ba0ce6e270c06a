/**
 * Tiny assert helpers, in the style of @noble/hashes: each names what it expected and what it got.
 */
import type { ErrorCode } from './codes.js';
import { Mcp0Error, UsageError } from './errors.js';

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return value.length > 40 ? `string(${value.length})` : JSON.stringify(value);
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}

/** Throws `EUSAGE` unless `value` is a Uint8Array (of `length`, when given). */
export function abytes(value: unknown, length?: number, what = 'value'): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new UsageError('EUSAGE', `${what}: expected Uint8Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new UsageError('EUSAGE', `${what}: expected ${length} bytes, got ${value.length}`, { expected: length, got: value.length });
  }
}

/** Throws an error of `code` with `message` unless `condition` holds. */
export function check(condition: unknown, code: ErrorCode, message: string, details?: Record<string, unknown>): asserts condition {
  if (!condition) throw new Mcp0Error(code, message, details);
}
