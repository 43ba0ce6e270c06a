/**
 * Extism 1.0.3 stores a Uint8Array whose buffer is an ArrayBuffer by wrapping its *whole* buffer,
 * ignoring byteOffset and length. A view into a larger buffer (cborg's output, a subarray) would
 * hand the guest trailing garbage. Everything the kernel gives Extism goes through here.
 */

/** `bytes` itself when it spans its whole buffer, else a tight copy. (Not `.slice()`: on a Node Buffer that is a view.) */
export function exactBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}
