/**
 * Failing a call, and the abort handler. A guest error is Extism's `error_set` with the UTF-8 JSON
 * `{"code":"E…","message":"…"}` plus return code 1; the host parses the JSON. An AssemblyScript
 * abort (a failed bounds check, `throw`, out-of-range allocation) goes to the host's `panic` with
 * its place in the source and then traps, so the host can say why the module trapped.
 */
import { setError } from "./extism";
import { panic } from "./host";
import { Err } from "./result";

/**
 * Set the call's error and return 1, the export's failure code.
 * @example
 * if (name === null) return fail("EINPUT", "expected {name: text}");
 */
export function fail(code: string, message: string): i32 {
  setError('{"code":' + jsonString(code) + ',"message":' + jsonString(message) + "}");
  return 1;
}

/** Fail with an error a host function (or the decoder) returned, keeping its code. */
export function failWith(e: Err): i32 {
  return fail(e.code, e.message);
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
