/**
 * Failing a call, and the abort handler. A guest error is Extism's `error_set` with the UTF-8 JSON
 * `{"code":"E…","message":"…"}` plus return code 1, and optionally `"details":{…}`, values the
 * caller gets as the error's details (ABI.md §5); the host parses the JSON. An AssemblyScript
 * abort (a failed bounds check, `throw`, out-of-range allocation) goes to the host's `panic` with
 * its place in the source and then traps, so the host can say why the module trapped.
 */
import { base64urlEncode } from "./base64url";
import { CborArray, CborMap, CborNegint, Kind, Value } from "./cbor";
import { setError } from "./extism";
import { panic } from "./host";
import { Err } from "./result";

/**
 * Set the call's error and return 1, the export's failure code. `details`, when given, reaches the
 * caller as the error's details (`jsonOf` says how each CBOR kind is written).
 * @example
 * if (name === null) return fail("EINPUT", "expected {name: text}");
 * return fail("EDENIED", "rate-limited: …", Value.map().set("retryAfterMs", Value.uint(wait)));
 */
export function fail(code: string, message: string, details: CborMap | null = null): i32 {
  let json = '{"code":' + jsonString(code) + ',"message":' + jsonString(message);
  if (details !== null) json += ',"details":' + jsonOf(details);
  setError(json + "}");
  return 1;
}

/** Fail with an error a host function (or the decoder, or the plugin) returned, keeping its code and details. */
export function failWith(e: Err): i32 {
  return fail(e.code, e.message, e.details);
}

/**
 * A CBOR value as JSON text, for error details: integers as numbers (past 2^53 a JSON reader loses
 * precision: send such values as text), floats as numbers (NaN and ±Infinity, which JSON lacks, as
 * null), bytes as unpadded base64url text, map keys that are not text as the JSON of the key.
 * @example
 * jsonOf(Value.map().set("retryAfterMs", Value.uint(20))) // '{"retryAfterMs":20}'
 */
export function jsonOf(v: Value): string {
  switch (v.kind) {
    case Kind.Null: return "null";
    case Kind.Bool: return v.asBool() ? "true" : "false";
    case Kind.Uint: return v.asUint().toString();
    case Kind.Negint: {
      const arg = changetype<CborNegint>(v).arg;
      return "-" + (arg == u64.MAX_VALUE ? "18446744073709551616" : (arg + 1).toString());
    }
    case Kind.Float: {
      const f = v.asFloat();
      return isFinite(f) ? f.toString() : "null";
    }
    case Kind.Bytes: return jsonString(base64urlEncode(v.asBytes()!));
    case Kind.Text: return jsonString(v.asText()!);
    case Kind.Array: {
      const items = changetype<CborArray>(v).items;
      let out = "[";
      for (let i = 0, n = items.length; i < n; i++) out += (i > 0 ? "," : "") + jsonOf(unchecked(items[i]));
      return out + "]";
    }
    default: {
      const entries = changetype<CborMap>(v).entries;
      let out = "{";
      for (let i = 0, n = entries.length; i < n; i++) {
        const e = unchecked(entries[i]);
        const k = e.key.asText();
        out += (i > 0 ? "," : "") + jsonString(k !== null ? k! : jsonOf(e.key)) + ":" + jsonOf(e.value);
      }
      return out + "}";
    }
  }
}

/** A JSON string literal for `s`. */
export function jsonString(s: string): string {
  const n = s.length;
  let plain = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x22 || c == 0x5c) { plain = false; break; }
  }
  if (plain) return '"' + s + '"';
  let out = '"';
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0d) out += "\\r";
    else if (c == 0x09) out += "\\t";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

let aborting = false;

/**
 * The abort handler, wired in by the build with `--use abort=~lib/@mcp0/abi/as/errors/mcp0Abort`.
 * It replaces AssemblyScript's default, which would import `env.abort` (Extism has none).
 */
export function mcp0Abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // An abort while reporting one (say, memory ran out inside panic) must not recurse.
  if (!aborting) {
    aborting = true;
    panic(message === null ? "abort" : message, fileName === null ? "" : fileName, line, column);
    aborting = false;
  }
  unreachable();
}
