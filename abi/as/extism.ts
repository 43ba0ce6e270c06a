/**
 * The Extism guest transport (`extism:host/env`): raw imports, and helpers that move bytes between
 * guest memory and Extism memory handles (input, output, error, and the handles our host functions
 * take and return). Our own bindings rather than @extism/as-pdk, whose outputString sizes the
 * output by UTF-16 length and breaks on non-ASCII text.
 */

// The raw guest ABI. Only the functions a module actually calls end up as imports.
// @ts-ignore: decorator
@external("extism:host/env", "input_length")
export declare function input_length(): u64;
// @ts-ignore: decorator
@external("extism:host/env", "input_load_u8")
export declare function input_load_u8(offset: u64): u8;
// @ts-ignore: decorator
@external("extism:host/env", "input_load_u64")
export declare function input_load_u64(offset: u64): u64;
// @ts-ignore: decorator
@external("extism:host/env", "alloc")
export declare function alloc(length: u64): u64;
// @ts-ignore: decorator
@external("extism:host/env", "free")
export declare function free(handle: u64): void;
// @ts-ignore: decorator
@external("extism:host/env", "length")
export declare function length(handle: u64): u64;
// @ts-ignore: decorator
@external("extism:host/env", "load_u8")
export declare function load_u8(address: u64): u8;
// @ts-ignore: decorator
@external("extism:host/env", "load_u64")
export declare function load_u64(address: u64): u64;
// @ts-ignore: decorator
@external("extism:host/env", "store_u8")
export declare function store_u8(address: u64, value: u8): void;
// @ts-ignore: decorator
@external("extism:host/env", "store_u64")
export declare function store_u64(address: u64, value: u64): void;
// @ts-ignore: decorator
@external("extism:host/env", "output_set")
export declare function output_set(handle: u64, length: u64): void;
// @ts-ignore: decorator
@external("extism:host/env", "error_set")
export declare function error_set(handle: u64): void;

/** The call's whole input. Copied 8 bytes per host call, then the tail byte by byte. */
export function readInput(): Uint8Array {
  // A length beyond what an array can hold makes the constructor abort, which traps via panic.
  const n = <i32>min<u64>(input_length(), <u64>i32.MAX_VALUE);
  const out = new Uint8Array(n);
  const p = out.dataStart;
  const whole = n & ~7;
  let i = 0;
  for (; i < whole; i += 8) store<u64>(p + <usize>i, input_load_u64(<u64>i));
  for (; i < n; i++) store<u8>(p + <usize>i, input_load_u8(<u64>i));
  return out;
}

/** Copy bytes into a fresh Extism handle, exactly `data.length` long (the host reads the whole block). */
export function toHandle(data: Uint8Array): u64 {
  return rawToHandle(data.dataStart, data.length);
}

/** Copy `n` bytes at guest address `p` into a fresh handle. */
export function rawToHandle(p: usize, n: i32): u64 {
  const h = alloc(<u64>n);
  const whole = n & ~7;
  let i = 0;
  for (; i < whole; i += 8) store_u64(h + <u64>i, load<u64>(p + <usize>i));
  for (; i < n; i++) store_u8(h + <u64>i, load<u8>(p + <usize>i));
  return h;
}

/** Copy a handle's bytes into guest memory. The handle stays valid: free it when done. */
export function fromHandle(h: u64): Uint8Array {
  const n = <i32>min<u64>(length(h), <u64>i32.MAX_VALUE);
  const out = new Uint8Array(n);
  const p = out.dataStart;
  const whole = n & ~7;
  let i = 0;
  for (; i < whole; i += 8) store<u64>(p + <usize>i, load_u64(h + <u64>i));
  for (; i < n; i++) store<u8>(p + <usize>i, load_u8(h + <u64>i));
  return out;
}

/** Set the call's output to these bytes. */
export function setOutput(data: Uint8Array): void {
  output_set(toHandle(data), <u64>data.length);
}

/** Set the call's error to this text, as UTF-8 (unpaired surrogates become U+FFFD). */
export function setError(message: string): void {
  const utf8 = String.UTF8.encode(message, false, String.UTF8.ErrorMode.REPLACE);
  error_set(rawToHandle(changetype<usize>(utf8), utf8.byteLength));
}
