/**
 * ABI errors over gRPC and back (ABI.md "Errors over gRPC"): a status per code for stock tools, and
 * the code itself, with a denial's retry-after, in trailers, so a client rebuilds the typed error.
 */
import { CallError, DeniedError, GRPC_STATUS, grpcStatusOf, isErrorCode, Mcp0Error, type ErrorCode } from '@mcp0/abi';
import { Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';

/** The trailer holding the ABI error code. */
export const CODE_TRAILER = 'mcp0-code';
/** The trailer holding a denial's retry-after, in ms. */
export const RETRY_TRAILER = 'mcp0-retry-after-ms';

/**
 * The status a handler answers for `error`: its code's status, its message, the code in trailers.
 * A thrown value that is not an Mcp0Error is a fault of the node: INTERNAL, its message kept.
 * @example
 * callback(statusOf(new CallError('EPERM', 'no')))
 */
export function statusOf(error: unknown): Partial<StatusObject> {
  const e = error instanceof Mcp0Error ? error : new CallError('EINTERNAL', `the node failed: ${(error as Error)?.message ?? String(error)}`);
  const metadata = new Metadata();
  metadata.set(CODE_TRAILER, e.code);
  const retry = e.details.retryAfterMs;
  if (typeof retry === 'number' && Number.isFinite(retry) && retry >= 0) metadata.set(RETRY_TRAILER, String(Math.ceil(retry)));
  return { code: grpcStatusOf(e.code, e.details), details: e.message, metadata };
}

/**
 * The typed error a failed call carries: the ABI code from its trailers, else one that fits its
 * status (a deadline the client set is ETIMEOUT; a node it cannot reach is EUNAVAILABLE).
 * @example
 * call.on('error', (e) => reject(errorOf(e)))
 */
export function errorOf(error: ServiceError): Mcp0Error {
  const given = error.metadata?.get(CODE_TRAILER)[0];
  const retry = Number(error.metadata?.get(RETRY_TRAILER)[0]);
  const details: Record<string, unknown> = { status: error.code, ...(Number.isFinite(retry) ? { retryAfterMs: retry } : {}) };
  const message = error.details || error.message;
  if (isErrorCode(given)) return given === 'EDENIED' ? new DeniedError(given, message, details) : new CallError(given, message, details);
  const code: ErrorCode =
    error.code === GRPC_STATUS.DEADLINE_EXCEEDED
      ? 'ETIMEOUT'
      : error.code === GRPC_STATUS.UNAVAILABLE
        ? 'EUNAVAILABLE'
        : error.code === GRPC_STATUS.RESOURCE_EXHAUSTED
          ? 'ETOOBIG'
          : error.code === GRPC_STATUS.UNAUTHENTICATED
            ? 'ESIGNATURE'
            : error.code === GRPC_STATUS.CANCELLED
              ? 'ESTATE'
              : 'EINTERNAL';
  return new CallError(code, `gRPC ${error.code}: ${message}`, details);
}
