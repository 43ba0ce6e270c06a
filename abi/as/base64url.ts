/**
 * base64url without padding (RFC 4648 §5): the form of JWK `x`, of key ids (keys.ts) and of
 * agreement signatures. Decoding accepts only the canonical form (no padding, zero leftover bits),
 * so each byte string has exactly one text.
 */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2d) return 62;
  if (c == 0x5f) return 63;
  return -1;
}

/**
 * The bytes of unpadded base64url text, or null when it is not canonical base64url.
 * @example
 * const key = base64urlDecode(jwkX); if (key === null || key.length != 32) return fail("EINPUT", "…");
 */
export function base64urlDecode(s: string): Uint8Array | null {
  const n = s.length;
  if (n % 4 == 1) return null;
  const out = new Uint8Array((n * 6) >> 3);
  let acc: u32 = 0;
  let bits: i32 = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const v = sextet(s.charCodeAt(i));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>(acc >> <u32>bits);
      acc &= (1 << <u32>bits) - 1;
    }
  }
  // Leftover bits must be zero, so each byte string has exactly one encoding.
  if (acc != 0) return null;
  return out;
}

/**
 * Unpadded base64url text of bytes.
 * @example
 * base64urlEncode(Uint8Array.wrap(String.UTF8.encode("hi"))) // "aGk"
 */
export function base64urlEncode(b: Uint8Array): string {
  let out = "";
  let acc: u32 = 0;
  let bits: i32 = 0;
  for (let i = 0, n = b.length; i < n; i++) {
    acc = (acc << 8) | <u32>b[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET.charAt(<i32>((acc >> <u32>bits) & 63));
    }
    acc &= (1 << <u32>bits) - 1;
  }
  if (bits > 0) out += ALPHABET.charAt(<i32>((acc << <u32>(6 - bits)) & 63));
  return out;
}
