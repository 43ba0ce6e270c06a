/**
 * The typed error hierarchy. Every error carries a stable `code` from codes.ts and the values
 * involved in `details`, so a caller can branch on the code and a person can read what was
 * expected and what came.
 */
import { type ErrorCode, isErrorCode } from './codes.js';

/**
 * The base of every MCP-ZERO error.
 * @example
 * try { await kernel.call('hello', 'echo', bytes) }
 * catch (e) { if (e instanceof Mcp0Error && e.code === 'ETIMEOUT') retryLater() }
 */
export class Mcp0Error extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
  /** The wire form used in CBOR error results and the CLI's JSON lines. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A module failed one of the ordered loading checks (ABI.md §1). `details.check` names it. */
export class LoadError extends Mcp0Error {}

/** A call into a module failed: a trap, a timeout, a denied capability, a guest error. */
export class CallError extends Mcp0Error {}

/** An operation was denied by an admit hook; `details.reason` and `details.by` say why and who. */
export class DeniedError extends Mcp0Error {}

/** An API or command was used the wrong way (bad argument, wrong state). */
export class UsageError extends Mcp0Error {}

/**
 * Rebuild a typed error from its wire form `{code, message, details?}` (guest error strings, CBOR
 * error results, errors that crossed a worker boundary). Unknown codes become `EGUEST`. `details`,
 * when it is a JSON object, becomes the error's details (a guest's `retryAfterMs`, say); anything
 * else there is dropped.
 * @example
 * errorFromWire({ code: 'EDENIED', message: 'rate-limited: …', details: { retryAfterMs: 20 } }).details.retryAfterMs // 20
 */
export function errorFromWire(wire: unknown, fallback: ErrorCode = 'EGUEST'): CallError {
  if (wire !== null && typeof wire === 'object') {
    const { code, message, details } = wire as { code?: unknown; message?: unknown; details?: unknown };
    const text = typeof message === 'string' ? message : JSON.stringify(wire);
    const given = details !== null && typeof details === 'object' && !Array.isArray(details) ? (details as Record<string, unknown>) : {};
    return isErrorCode(code) ? new CallError(code, text, { ...given }) : new CallError(fallback, text, { ...given, code });
  }
  return new CallError(fallback, String(wire));
}
