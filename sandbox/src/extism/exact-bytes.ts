/**
 * Extism 1.0.3 stores a Uint8Array whose buffer is an ArrayBuffer by wrapping its *whole* buffer,
 * ignoring byteOffset and length. A view into a larger buffer (cborg's output, a subarray) would
 * hand the guest trailing garbage. Everything the host gives Extism (the kernel's host functions
 * included) goes through here.
 */

/**
 * `bytes` itself when it spans its whole buffer, else a tight copy. (Not `.slice()`: on a Node Buffer that is a view.)
 * @example
 * exactBytes(new Uint8Array(8).subarray(2, 4)) // a 2-byte copy with a buffer of its own
 */
export function exactBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}
