/**
 * The CLI's bridge between JSON (what people type and read) and CBOR (what modules speak).
 * Bytes have no JSON form, so they travel as `{"$bytes": "<base64>"}`; output that is not CBOR at
 * all is shown as `{"$raw": "<base64>"}`.
 */
import { decodeCbor, encodeCbor, Mcp0Error, UsageError, type CborValue } from '@mcp0/abi';

/**
 * JSON text → CBOR bytes.
 * @example
 * jsonToCbor('{"name":"Ada"}') // → a1 64 6e 61 6d 65 63 41 64 61
 */
export function jsonToCbor(text: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Mcp0Error('EUSAGE', `input is not JSON: ${(e as Error).message}: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`);
  }
  return encodeCbor(fromJson(value));
}

/** CBOR bytes → a JSON-ready value. */
export function cborToJson(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return null;
  try {
    return toJson(decodeCbor(bytes));
  } catch {
    return { $raw: Buffer.from(bytes).toString('base64') };
  }
}

/** A parsed JSON value → a CBOR value (`{"$bytes": base64}` → bytes). */
export function fromJson(v: unknown): CborValue {
  if (Array.isArray(v)) return v.map(fromJson);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 1 && entries[0]![0] === '$bytes' && typeof entries[0]![1] === 'string') {
      return new Uint8Array(Buffer.from(entries[0]![1], 'base64'));
    }
    return Object.fromEntries(entries.map(([k, x]) => [k, fromJson(x)]));
  }
  return v as CborValue;
}

/** A CBOR value → a JSON-ready value (bytes → `{"$bytes": base64}`, bigints → text). */
export function toJson(v: CborValue): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(toJson);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  return v;
}

/**
 * A value as JSON text with integers kept exact: a bigint (a u64 past 2^53 from a plugin) is
 * written as a JSON number with all its digits, which `JSON.stringify` refuses to do.
 * @example
 * exactJson({ amount: 2n ** 64n - 1n }) // '{"amount":18446744073709551615}'
 */
export function exactJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, x) => (typeof x === 'bigint' ? `__big${x}` : x), indent).replace(/"__big(\d+)"/g, '$1');
}

/**
 * A command-line JSON argument as a CBOR value (`{}` when absent): an agent's input, a spawn's
 * config. Text that is not JSON is a usage error naming `what`.
 * @example
 * parseJsonArg('{"by":2}', 'input') // { by: 2 }
 */
export function parseJsonArg(text: string | undefined, what: string): CborValue {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError('EUSAGE', `${what}: expected JSON, got ${JSON.stringify(text.slice(0, 80))} (${(e as Error).message})`);
  }
  return fromJson(parsed);
}

/**
 * An error's details as JSON can carry them: bigints as numbers' digits, bytes as hex.
 * @example
 * plainDetails({ retryAfterMs: 334, root: new Uint8Array([1]) }) // { retryAfterMs: 334, root: '01' }
 */
export function plainDetails(details: unknown): Record<string, unknown> {
  if (details === null || typeof details !== 'object') return {};
  return JSON.parse(
    JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
  ) as Record<string, unknown>;
}

/**
 * Prints an intent's answer as `mcp0 agent execute` and `mcp0 remote … agent execute` do: its
 * output as JSON (`{ok: true, output}` with --json); a failure rethrown for stderr and exit 1,
 * after `{ok: false, error}` on stdout with --json.
 * @example
 * return printExecution(agent.execute('increment', {}), json, (line) => io.out(line))
 */
export async function printExecution(work: Promise<CborValue>, json: boolean, out: (line: string) => void): Promise<number> {
  let output: CborValue;
  try {
    output = await work;
  } catch (e) {
    const line = json ? failureLine(e) : undefined;
    if (line !== undefined) out(line);
    throw e;
  }
  out(`${JSON.stringify(json ? { ok: true, output: toJson(output) } : toJson(output))}\n`);
  return 0;
}

/**
 * A failed call as `--json` prints it on stdout, `{ok: false, error: {code, message, ...details}}`
 * (retryAfterMs of a denial and the other details included); undefined for an untyped error.
 * @example
 * if (json) io.out(failureLine(e) ?? '')
 */
export function failureLine(e: unknown): string | undefined {
  if (!(e instanceof Mcp0Error)) return undefined;
  return `${JSON.stringify({ ok: false, error: { code: e.code, message: e.message, ...plainDetails(e.details) } })}\n`;
}
