/**
 * Guest errors as Extism 1.0.3 reports them: a thrown Error whose message is the guest's
 * `error_set` text behind a fixed prefix. ABI v1 asks for JSON `{code, message}` there, with an
 * optional `details` object (ABI.md §5).
 */
import { CallError, errorFromWire } from '@mcp0/abi';
// Defined beside the calls that word it so (plugin.ts), which guest threads load without @mcp0/abi.
import { GUEST_ERROR_PREFIX } from './plugin.js';
/** Longest guest error message passed on, in characters; the rest is cut. */
const MAX_GUEST_ERROR = 4096;
/** Longest guest error `details`, as JSON text; larger ones are dropped (`details.detailsDropped` says how long they were). */
const MAX_GUEST_DETAILS = 4096;

function clip(text: string): string {
  return text.length <= MAX_GUEST_ERROR ? text : `${text.slice(0, MAX_GUEST_ERROR)}… (${text.length - MAX_GUEST_ERROR} more characters cut)`;
}

/**
 * The guest's own error, when `message` (of what Extism threw) is one; undefined for a trap.
 * @example
 * guestError('Plugin-originated error: {"code":"EINPUT","message":"bad"}') // CallError EINPUT "bad"
 */
export function guestError(message: string): CallError | undefined {
  if (!message.startsWith(GUEST_ERROR_PREFIX)) return undefined;
  const body = message.slice(GUEST_ERROR_PREFIX.length);
  let wire: unknown = clip(body);
  try {
    // A guest's error is its own words, but not an unbounded amount of them. (Bodies are bounded
    // by the host memory budget; past 16 MiB they are not worth parsing.)
    if (body.length <= 16 << 20) {
      const parsed = JSON.parse(body) as { code?: unknown; message?: unknown; details?: unknown };
      wire = typeof parsed?.message === 'string' ? { ...parsed, message: clip(parsed.message) } : parsed;
      const size = parsed?.details === undefined ? 0 : JSON.stringify(parsed.details).length;
      if (size > MAX_GUEST_DETAILS) wire = { ...(wire as object), details: { detailsDropped: size } };
    }
  } catch {
    // A guest that does not follow the JSON convention still gets its text through, as EGUEST.
  }
  // Marked as the guest's words: a guest saying ETRAP has not trapped, and its instance is sound.
  // The host's own members come last, so a guest's details cannot claim them.
  const e = errorFromWire(wire);
  return new CallError(e.code, e.message, { ...e.details, byGuest: true });
}
