/**
 * Checks of a request's common fields (an agent name, keys, values, block ids), and UTF-8 text in
 * and out. A failed check fails the call: the `*Ok`/`*Of` helpers leave the code to return in
 * `failedCode`, the others return the error or set `Args.error`.
 */
import { Args, Err, fail } from "@mcp0/abi/as";

export const MAX_KEY: i32 = 1024;
export const MAX_VALUE: i32 = 1 << 20;
export const MAX_AGENT: i32 = 200;

export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false));
}

export function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length, false);
}

/** The code a failed input check returned (the call has failed). */
export let failedCode: i32 = 0;

/** Checks an agent name (UTF-8): false after failing the call. */
export function agentOk(agent: Uint8Array): bool {
  const n = agent.length;
  if (n == 0) { failedCode = fail("EINPUT", '"agent" must not be empty'); return false; }
  if (n > MAX_AGENT) { failedCode = fail("ETOOBIG", '"agent" is ' + n.toString() + " bytes, the limit is " + MAX_AGENT.toString()); return false; }
  return true;
}

/** The agent name of a request read through Args, as UTF-8, or null after failing the call. */
export function agentOf(a: Args): Uint8Array | null {
  const agent = a.text("agent");
  if (a.error !== null) { failedCode = a.fail(); return null; }
  const b = utf8(agent);
  return agentOk(b) ? b : null;
}

export function checkKey(what: string, k: Uint8Array): Err | null {
  if (k.length > MAX_KEY) return new Err("ETOOBIG", what + " is " + k.length.toString() + " bytes, the limit is " + MAX_KEY.toString());
  return null;
}

export function checkValue(what: string, v: Uint8Array): Err | null {
  if (v.length > MAX_VALUE) return new Err("ETOOBIG", what + " is " + v.length.toString() + " bytes, the limit is " + MAX_VALUE.toString());
  return null;
}

export function rootArg(a: Args, name: string): Uint8Array | null {
  const r = a.bytes(name);
  if (a.error !== null) return null;
  if (r.length != 32) { a.error = '"' + name + '" must be a 32-byte block id, got ' + r.length.toString() + " bytes"; return null; }
  return r;
}

/** An optional root: null when absent or null (check a.error). */
export function optRootArg(a: Args, name: string): Uint8Array | null {
  const r = a.optBytes(name);
  if (a.error !== null || r === null) return null;
  if (r.length != 32) { a.error = '"' + name + '" must be a 32-byte block id, got ' + r.length.toString() + " bytes"; return null; }
  return r;
}
