/**
 * Results without exceptions: AssemblyScript has none, so every fallible call (a host function, a
 * decode) returns a Result whose `error` carries an ABI error code the caller can branch on or
 * pass straight through with `failWith`.
 */

import { CborMap } from "./cbor";

/**
 * An ABI error: a code from the table in ABI.md ("EPERM", "EINPUT", ...), a message, and optional
 * details, the values a caller may act on (`retryAfterMs`), which `failWith` passes to the host.
 */
export class Err {
  constructor(public code: string, public message: string, public details: CborMap | null = null) {}

  toString(): string {
    return this.code + ": " + this.message;
  }
}

/**
 * A value or an error. On error, `value` holds a harmless default (0, false, an empty array), so
 * reading it by mistake never dereferences null.
 */
export class Result<T> {
  constructor(public value: T, public error: Err | null) {}

  /** True when there is no error. */
  get ok(): bool {
    return this.error === null;
  }

  /** The error code, or "" on success. */
  get code(): string {
    const e = this.error;
    return e === null ? "" : e.code;
  }
}

/** A successful result. */
export function success<T>(value: T): Result<T> {
  return new Result<T>(value, null);
}

/** A failed result, with the default value `value` in its value slot. */
export function failure<T>(error: Err, value: T): Result<T> {
  return new Result<T>(value, error);
}
