/**
 * The one table of MCP-ZERO error codes. Hosts, guests, the CLI and the conformance suite all speak
 * these codes; ABI.md lists the same table. Codes are stable: a code is never renamed or reused.
 */

/** Every error code, with the one-line meaning documented in ABI.md. */
export const ERROR_CODES = {
  // Loading: one code per ordered check of ABI.md §1.
  ENOTWASM: 'the bytes are not a WebAssembly module',
  ESIGNATURE: 'the signature section is missing, malformed or does not verify',
  EUNTRUSTED: 'the module is signed, but by no trusted key',
  EMANIFEST: 'the mcp0.manifest section is missing or invalid',
  EABI: 'the module targets an ABI version this host does not serve',
  EIMPORT: 'the module imports something outside ABI v1',
  ECAPABILITY: 'a required capability was requested but not granted',
  // Calls.
  EPERM: 'a host function was called without the capability that guards it',
  EINPUT: 'malformed input: bad CBOR, wrong type, missing field',
  ETOOBIG: 'a payload or key is larger than the limit allows',
  ENOTFOUND: 'no such module, export, key or resource',
  ETRAP: 'the module trapped (unreachable, out-of-bounds, abort)',
  ETIMEOUT: 'the call ran longer than its time limit',
  EMEMORY: 'the module reached its memory cap',
  EGUEST: 'the guest reported an error without a code of its own',
  EUNAVAILABLE: 'no provider serves this capability on this host',
  EBUSY: 'the module is busy with another call and is not re-entrant',
  ECONFLICT: 'a compare-and-swap lost: the value changed underneath',
  EDENIED: 'an admit hook denied the operation',
  ESTATE: 'the module is not in a state that allows this',
  EINTERNAL: 'a host-side fault: a bug, reported rather than hidden',
  EUSAGE: 'a command or API was called the wrong way',
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `code` is one of the table's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
