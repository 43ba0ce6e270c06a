/**
 * An export's two ends: its input (raw, or as a request map) and its output (raw bytes or a CBOR
 * value). `respond` returns 0 so an export can end with `return respond(...)`.
 */
import { Args } from "./args";
import { Value, encode } from "./cbor";
import { readInput, setOutput } from "./extism";

/** The input, decoded as a request map; check `error` before trusting the fields. */
export function readArgs(): Args {
  return Args.from(readInput());
}

/** Output a CBOR value; returns 0 (success). */
export function respond(v: Value): i32 {
  setOutput(encode(v));
  return 0;
}

/** Output raw bytes; returns 0 (success). */
export function respondBytes(b: Uint8Array): i32 {
  setOutput(b);
  return 0;
}
