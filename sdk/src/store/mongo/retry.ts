/**
 * Which MongoDB driver errors are worth another attempt, and the typed error a failure becomes:
 * `EUNAVAILABLE` when the server cannot be reached (with the driver's error as `cause`), else
 * `EINTERNAL`. MongoStore's `#run` applies this to every driver call.
 */
import { CallError, type Mcp0Error } from '@mcp0/abi';
import {
  MongoBulkWriteError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { MONGO_DEFAULTS, redact } from './options.js';

/**
 * How an operation may be repeated after a transient error: `read`s always; `idempotent` writes,
 * whose repetition cannot change the outcome (put-if-absent, upserting the same value, an insert
 * that recognises its own earlier success); `once`: never (a repeated delete would count fewer).
 * @example
 * const retry: Retry = 'idempotent'
 */
export type Retry = 'read' | 'idempotent' | 'once';

/**
 * MongoDB's duplicate-key error code.
 * @example
 * if (e instanceof MongoError && e.code === DUPLICATE_KEY) return false
 */
export const DUPLICATE_KEY = 11000;
/** Server codes the driver's retryable-reads/writes specifications treat as transient. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);
/** Node socket and DNS errors that mean the server cannot be reached. */
const SYSTEM_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Whether `e` is a duplicate-key error (an `_id` already taken).
 * @example
 * try { await c.refs.insertOne(doc) } catch (e) { if (!isDuplicate(e)) throw e }
 */
export function isDuplicate(e: unknown): boolean {
  return e instanceof MongoError && e.code === DUPLICATE_KEY;
}

/**
 * The driver wraps a failed bulk batch's own error (a network error, say) in MongoBulkWriteError:
 * the error inside it, else `e`.
 * @example
 * const cause = unwrap(e) // the MongoNetworkError behind a failed insertMany
 */
export function unwrap(e: unknown): unknown {
  return e instanceof MongoBulkWriteError && e.errorResponse instanceof Error ? e.errorResponse : e;
}

/**
 * Worth another attempt: the connection broke or the server was briefly unable to serve.
 * @example
 * if (retry !== 'once' && attempt < retries && isTransient(cause)) continue
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof MongoNetworkError) return true; // includes socket timeouts and cleared pools
  if (e instanceof MongoError) {
    if (e.hasErrorLabel('RetryableWriteError') || e.hasErrorLabel('ResetPool')) return true;
    return typeof e.code === 'number' && TRANSIENT_CODES.has(e.code);
  }
  return isSystemUnreachable(e);
}

function isSystemUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && SYSTEM_UNREACHABLE.has(code);
}

/** No server to talk to: transient errors, selection timeouts, and a client that cannot connect. */
function isUnavailable(e: unknown): boolean {
  return (
    isTransient(e) ||
    e instanceof MongoServerSelectionError ||
    e instanceof MongoOperationTimeoutError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoTopologyClosedError ||
    (e instanceof MongoError && /timed? ?out/i.test(e.name))
  );
}

/**
 * The typed error for a driver failure: `EUNAVAILABLE` when the server cannot be reached, else
 * `EINTERNAL`. A `once` write that failed mid-flight says its outcome is unknown.
 * @example
 * throw translate('kv.get', uri, unwrap(e), attempt + 1, 'read')
 */
export function translate(op: string, uri: string, e: unknown, attempts: number, retry: Retry): Mcp0Error {
  const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  if (isUnavailable(e)) {
    const details: Record<string, unknown> = { op, uri: redact(uri), attempts, reason };
    // A write that failed mid-flight and was not repeated may or may not have been applied.
    if (retry === 'once' && e instanceof MongoNetworkError) details.outcome = 'unknown';
    return new CallError('EUNAVAILABLE', `mongodb ${op}: server unavailable after ${attempts} attempt${attempts === 1 ? '' : 's'} (${reason})`, details, {
      cause: e,
    });
  }
  const code = e instanceof MongoError ? e.code : undefined;
  return new CallError('EINTERNAL', `mongodb ${op}: ${reason}`, { op, code }, { cause: e });
}

/**
 * Waits before attempt `attempt + 1` (MONGO_DEFAULTS.backoffMs; the last pause repeats).
 * @example
 * await backoff(0) // 50 ms
 */
export function backoff(attempt: number): Promise<void> {
  const ms = MONGO_DEFAULTS.backoffMs[Math.min(attempt, MONGO_DEFAULTS.backoffMs.length - 1)]!;
  return new Promise((resolve) => setTimeout(resolve, ms));
}
