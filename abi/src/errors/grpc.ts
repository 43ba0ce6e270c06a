/**
 * Each ABI error code's gRPC status (ABI.md "Errors over gRPC"): what a node's transport answers
 * and what its clients read back, in every language. The status's trailers carry the ABI code
 * itself (`mcp0-code`), so nothing is lost in the mapping; a status is for stock tools and retries.
 */
import type { ErrorCode } from './codes.js';

/**
 * The gRPC status codes (grpc/grpc doc/statuscodes.md), by name.
 * @example
 * GRPC_STATUS.PERMISSION_DENIED // 7
 */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status name. */
export type GrpcStatusName = keyof typeof GRPC_STATUS;

/**
 * The gRPC status of each ABI error code. EDENIED is PERMISSION_DENIED, except a denial that may
 * pass later (a quota or a rate, with a retry-after), which is RESOURCE_EXHAUSTED: `grpcStatusOf`.
 * @example
 * GRPC_STATUS_OF.EPERM // 'PERMISSION_DENIED'
 */
export const GRPC_STATUS_OF: Readonly<Record<ErrorCode, GrpcStatusName>> = {
  ENOTWASM: 'INVALID_ARGUMENT',
  ESIGNATURE: 'UNAUTHENTICATED',
  EUNTRUSTED: 'PERMISSION_DENIED',
  EMANIFEST: 'INVALID_ARGUMENT',
  EABI: 'FAILED_PRECONDITION',
  EIMPORT: 'INVALID_ARGUMENT',
  ECAPABILITY: 'FAILED_PRECONDITION',
  EPERM: 'PERMISSION_DENIED',
  EINPUT: 'INVALID_ARGUMENT',
  ETOOBIG: 'RESOURCE_EXHAUSTED',
  ENOTFOUND: 'NOT_FOUND',
  ETRAP: 'UNKNOWN',
  ETIMEOUT: 'DEADLINE_EXCEEDED',
  EMEMORY: 'RESOURCE_EXHAUSTED',
  EGUEST: 'UNKNOWN',
  EUNAVAILABLE: 'FAILED_PRECONDITION',
  EBUSY: 'UNAVAILABLE',
  ECONFLICT: 'ABORTED',
  EDENIED: 'PERMISSION_DENIED',
  ESTATE: 'FAILED_PRECONDITION',
  EINTERNAL: 'INTERNAL',
  EUSAGE: 'INVALID_ARGUMENT',
};

/**
 * The gRPC status number of an error with `code`; a denial with a retry-after is RESOURCE_EXHAUSTED.
 * @example
 * grpcStatusOf('EDENIED', { retryAfterMs: 1000 }) // 8
 */
export function grpcStatusOf(code: ErrorCode, details: { retryAfterMs?: unknown } = {}): number {
  if (code === 'EDENIED' && typeof details.retryAfterMs === 'number') return GRPC_STATUS.RESOURCE_EXHAUSTED;
  return GRPC_STATUS[GRPC_STATUS_OF[code]];
}
