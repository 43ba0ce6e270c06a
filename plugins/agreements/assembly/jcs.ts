/**
 * RFC 8785 canonical JSON of a CBOR value tree, the bytes both parties of an agreement sign. The
 * plugin computes them itself from the document it was given, never taking a canonical form from
 * the host. Agreements hold only null, booleans, non-negative integers (≤ 2^53 − 1, so their
 * decimal form is ECMAScript's), text, arrays and maps with text keys; anything else is refused.
 */
import { CborMap, CborText, Kind, MapEntry, Value } from "@mcp0/abi/as";

/** Why the last canonicalisation failed, or null. */
export let jcsError: string | null = null;

/** ECMAScript's JSON string escaping, as RFC 8785 §3.2.2.2 requires. */
function quote(s: string): string {
  let out = '"';
  for (let i = 0, n = s.length; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x08) out += "\\b";
    else if (c == 0x09) out += "\\t";
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x0c) out += "\\f";
    else if (c == 0x0d) out += "\\r";
    else if (c < 0x20) out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** UTF-16 code unit order (RFC 8785 §3.2.3), not code point or byte order. */
function compareUtf16(a: string, b: string): i32 {
  const n = min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d != 0) return d;
  }
  return a.length - b.length;
}

function keyOf(e: MapEntry): string {
  return e.key.kind == Kind.Text ? changetype<CborText>(e.key).value : "";
}

function write(v: Value, depth: i32): string | null {
  if (depth > 16) { jcsError = "nested deeper than 16 levels"; return null; }
  switch (v.kind) {
    case Kind.Null: return "null";
    case Kind.Bool: return v.asBool() ? "true" : "false";
    case Kind.Uint: {
      if (v.asUint() > 9007199254740991) { jcsError = "an integer above 2^53 − 1 has no exact JSON form"; return null; }
      return v.asUint().toString();
    }
    case Kind.Text: return quote(v.asText()!);
    case Kind.Array: {
      const items = v.asArray()!.items;
      let out = "[";
      for (let i = 0, n = items.length; i < n; i++) {
        const s = write(unchecked(items[i]), depth + 1);
        if (s === null) return null;
        out += (i > 0 ? "," : "") + s;
      }
      return out + "]";
    }
    case Kind.Map: {
      const entries = (<CborMap>v).entries.slice(0);
      for (let i = 0, n = entries.length; i < n; i++) {
        if (unchecked(entries[i]).key.kind != Kind.Text) { jcsError = "a map key is not text"; return null; }
      }
      // Insertion sort: documents have a handful of keys per map.
      for (let i = 1, n = entries.length; i < n; i++) {
        const e = unchecked(entries[i]);
        const k = keyOf(e);
        let j = i - 1;
        while (j >= 0 && compareUtf16(keyOf(unchecked(entries[j])), k) > 0) {
          unchecked(entries[j + 1] = entries[j]);
          j--;
        }
        unchecked(entries[j + 1] = e);
      }
      let out = "{";
      for (let i = 0, n = entries.length; i < n; i++) {
        const e = unchecked(entries[i]);
        const s = write(e.value, depth + 1);
        if (s === null) return null;
        out += (i > 0 ? "," : "") + quote(keyOf(e)) + ":" + s;
      }
      return out + "}";
    }
    default:
      jcsError = "a " + v.typeName + " has no place in an agreement (only null, bool, integers ≤ 2^53 − 1, text, arrays, maps)";
      return null;
  }
}

/** The canonical JSON text of `v`, or null with `jcsError` set. */
export function canonicalJson(v: Value): string | null {
  jcsError = null;
  return write(v, 0);
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}
