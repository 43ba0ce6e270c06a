/**
 * The one error the preemption instrumenter throws. A LoadError, so callers that already branch on
 * load failures keep working; `details.reason` says whether the bytes are broken (`malformed`) or
 * use something the instrumenter does not decode (`unsupported`, e.g. GC or exception-handling
 * opcodes): either way the module must not run in the inline tier.
 */
import { LoadError, type ErrorCode } from '@mcp0/abi';

/** Why instrumentation refused a module. */
export type InstrumentReason = 'malformed' | 'unsupported' | 'conflict';

/** Values carried by an InstrumentError. */
export interface InstrumentDetails {
  /** Always `preempt`, like the `check` of other load errors. */
  check: 'preempt';
  reason: InstrumentReason;
  /** Byte offset in the module where decoding stopped. */
  offset?: number;
  /** The opcode, as text: `0x06`, `0xfc 0x13`. */
  opcode?: string;
  [key: string]: unknown;
}

/**
 * A module the preemption instrumenter cannot rewrite.
 * @example
 * try { instrumentDeadline(bytes) }
 * catch (e) { if (e instanceof InstrumentError) useWorkerTier(e.details.reason) }
 */
export class InstrumentError extends LoadError {
  declare readonly details: Readonly<InstrumentDetails>;
  constructor(code: ErrorCode, message: string, details: Omit<InstrumentDetails, 'check'>, options?: { cause?: unknown }) {
    super(code, message, { check: 'preempt', ...details }, options);
  }
}

/** A malformed-input error at `offset` (ENOTWASM). */
export function malformed(message: string, offset: number, extra: Record<string, unknown> = {}): InstrumentError {
  return new InstrumentError('ENOTWASM', `${message} at offset ${offset}`, { reason: 'malformed', offset, ...extra });
}

/** An unsupported-feature error at `offset` (ENOTWASM: the inline tier cannot run it). */
export function unsupported(message: string, offset: number, extra: Record<string, unknown> = {}): InstrumentError {
  return new InstrumentError('ENOTWASM', `${message} at offset ${offset}`, { reason: 'unsupported', offset, ...extra });
}

/** Format an opcode (with its prefix and sub-opcode, when it has one) for messages. */
export function opcodeText(op: number, sub?: number): string {
  const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;
  return sub === undefined ? hex(op) : `${hex(op)} ${hex(sub)}`;
}
