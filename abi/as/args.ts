/**
 * Reading a request map. An export decodes its input once, reads typed fields, and checks
 * `error` at the end: the first problem is kept, worded as "what was expected, what came", ready
 * to become EINPUT. This keeps exports free of nested null checks.
 * @example
 * const a = Args.from(readInput());
 * const key = a.text("key"); const by = a.uintOr("by", 1);
 * if (a.error !== null) return a.fail();
 */
import { CborArray, CborMap, Value, kindName, Kind } from "./cbor";
import { decode } from "./decode";
import { fail } from "./errors";

export class Args {
  /** The first problem, or null. */
  error: string | null = null;

  constructor(public fields: CborMap) {}

  /** Decode input bytes that must be one CBOR map. */
  static from(bytes: Uint8Array): Args {
    const r = decode(bytes);
    if (!r.ok) {
      const a = new Args(Value.map());
      a.error = "input: " + r.error!.message;
      return a;
    }
    const m = r.value.asMap();
    if (m === null) {
      const a = new Args(Value.map());
      a.error = "input: expected a CBOR map, got " + r.value.typeName;
      return a;
    }
    return new Args(m);
  }

  /** Fail the call with EINPUT and the first problem. */
  fail(): i32 {
    const e = this.error;
    return fail("EINPUT", e === null ? "invalid input" : e);
  }

  has(key: string): bool { return this.fields.get(key) !== null; }

  /** The value under `key`, any kind; records "missing" when absent. */
  value(key: string): Value {
    const v = this.fields.get(key);
    if (v === null) { this.problem(key, "is missing"); return Value.nil(); }
    return v;
  }

  text(key: string): string { const v = this.typed(key, Kind.Text, true); return v === null ? "" : v.asText()!; }
  bytes(key: string): Uint8Array { const v = this.typed(key, Kind.Bytes, true); return v === null ? new Uint8Array(0) : v.asBytes()!; }
  uint(key: string): u64 { const v = this.typed(key, Kind.Uint, true); return v === null ? 0 : v.asUint(); }
  bool(key: string): bool { const v = this.typed(key, Kind.Bool, true); return v === null ? false : v.asBool(); }
  map(key: string): CborMap { const v = this.typed(key, Kind.Map, true); return v === null ? Value.map() : v.asMap()!; }
  array(key: string): CborArray { const v = this.typed(key, Kind.Array, true); return v === null ? Value.array() : v.asArray()!; }

  /** Optional fields: the default when absent, a recorded problem when present with another kind. */
  textOr(key: string, dflt: string): string { const v = this.typed(key, Kind.Text, false); return v === null ? dflt : v.asText()!; }
  uintOr(key: string, dflt: u64): u64 { const v = this.typed(key, Kind.Uint, false); return v === null ? dflt : v.asUint(); }
  boolOr(key: string, dflt: bool): bool { const v = this.typed(key, Kind.Bool, false); return v === null ? dflt : v.asBool(); }
  /** Optional text or bytes: null when absent or CBOR null. */
  optText(key: string): string | null { const v = this.typed(key, Kind.Text, false); return v === null ? null : v.asText(); }
  optBytes(key: string): Uint8Array | null { const v = this.typed(key, Kind.Bytes, false); return v === null ? null : v.asBytes(); }

  private typed(key: string, kind: Kind, required: bool): Value | null {
    const v = this.fields.get(key);
    if (v === null || (!required && v.isNull())) {
      if (required) this.problem(key, "is missing, expected " + kindName(kind));
      return null;
    }
    if (v.kind != kind) { this.problem(key, "expected " + kindName(kind) + ", got " + v.typeName); return null; }
    return v;
  }

  private problem(key: string, what: string): void {
    if (this.error === null) this.error = '"' + key + '" ' + what;
  }
}
