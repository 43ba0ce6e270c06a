/**
 * Reading an agreement document (abi/schema/agreement.schema.json) from its CBOR form, strictly:
 * the same members, types, ranges and character sets as the schema, so a document the host
 * accepts is accepted here and a hostile one is refused before anything is stored. The plugin
 * checks for itself; it does not rely on the host having run ajv. Parties are key ids, and two
 * different ones: signatures.ts then holds each party to signing with its own key.
 */
import { CborMap, CborText, Kind, Value, isKeyId, KEY_ID_EXPECTED } from "@mcp0/abi/as";

/** JSON's largest exact integer: numbers above it would not survive canonical JSON. */
export const MAX_SAFE: u64 = 9007199254740991;
/** "No limit" for an absent quota. */
export const UNLIMITED: u64 = u64.MAX_VALUE;
const MAX_GLOBS: i32 = 64;

/** One party's signature, still base64url. */
export class Signature {
  constructor(public party: string, public key: string, public sig: string) {}
}

/** A checked agreement. */
export class Agreement {
  id: string = "";
  consumer: string = "";
  provider: string = "";
  intents: Array<string> = new Array<string>();
  exportGlobs: Array<string> = new Array<string>();
  windowMs: u64 = 1;
  callsPerWindow: u64 = UNLIMITED;
  costUnitsPerWindow: u64 = UNLIMITED;
  storageBytes: u64 = UNLIMITED;
  maxConcurrent: u64 = UNLIMITED;
  currency: string = "";
  baseFee: u64 = 0;
  perCall: u64 = 0;
  perCostUnit: u64 = 0;
  notBefore: u64 = 0;
  notAfter: u64 = 0;
  signatures: Array<Signature> = new Array<Signature>();
  /** Permission decisions already made, by "<agent>/<intent>" (hooks.ts). */
  decisions: Map<string, bool> = new Map<string, bool>();
  /** The document as given (CBOR), for `get` and storage. */
  doc: CborMap = Value.map();
}

/** Why the last read failed. */
export let docError: string = "";

function bad(path: string, what: string): Agreement | null {
  docError = path + ": " + what;
  return null;
}

function problem(what: string): Agreement | null {
  docError = what;
  return null;
}

function isIdChar(c: i32, glob: bool): bool {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
    || c == 0x5f || c == 0x2e || c == 0x3a || c == 0x40 || c == 0x2d
    || (glob && (c == 0x2f || c == 0x2a || c == 0x3f));
}

/** Text of 1..max characters from the id set (or the glob set). */
export function checkId(s: string, max: i32, glob: bool): string | null {
  if (s.length < 1 || s.length > max) return "expected 1 to " + max.toString() + " characters, got " + s.length.toString();
  for (let i = 0, n = s.length; i < n; i++) {
    if (!isIdChar(s.charCodeAt(i), glob)) return "character " + i.toString() + " is not one of A-Z a-z 0-9 _ . : @ -" + (glob ? " / * ?" : "");
  }
  return null;
}

/** A map holding only `allowed` keys, all text. Returns a problem or null. */
function onlyKeys(m: CborMap, allowed: Array<string>): string | null {
  for (let i = 0, n = m.entries.length; i < n; i++) {
    const k = unchecked(m.entries[i]).key;
    if (k.kind != Kind.Text) return "a key is a " + k.typeName + ", expected text";
    const name = changetype<CborText>(k).value;
    if (!allowed.includes(name)) return 'unexpected member "' + name + '"';
  }
  return null;
}

/** Read state shared by the field readers, so each reader reports its own path. */
class Reader {
  problem: string | null = null;
  constructor(public m: CborMap, public path: string) {}

  fail(key: string, what: string): void {
    if (this.problem === null) this.problem = this.path + "/" + key + ": " + what;
  }

  text(key: string, max: i32, required: bool = true): string | null {
    const v = this.m.get(key);
    if (v === null) { if (required) this.fail(key, "is missing"); return null; }
    const s = v.asText();
    if (s === null) { this.fail(key, "expected text, got " + v.typeName); return null; }
    const p = checkId(s, max, false);
    if (p !== null) { this.fail(key, p); return null; }
    return s;
  }

  uint(key: string, required: bool, minimum: u64 = 0): u64 {
    const v = this.m.get(key);
    if (v === null) { if (required) this.fail(key, "is missing"); return UNLIMITED; }
    if (v.kind != Kind.Uint) { this.fail(key, "expected an integer ≥ " + minimum.toString() + ", got " + v.typeName); return UNLIMITED; }
    const n = v.asUint();
    if (n < minimum || n > MAX_SAFE) { this.fail(key, "expected an integer from " + minimum.toString() + " to 2^53 − 1, got " + n.toString()); return UNLIMITED; }
    return n;
  }

  map(key: string, allowed: Array<string>): CborMap | null {
    const v = this.m.get(key);
    if (v === null) { this.fail(key, "is missing"); return null; }
    const m = v.asMap();
    if (m === null) { this.fail(key, "expected a map, got " + v.typeName); return null; }
    const p = onlyKeys(m, allowed);
    if (p !== null) { this.fail(key, p); return null; }
    return m;
  }

  globs(key: string, out: Array<string>): void {
    const v = this.m.get(key);
    if (v === null) { this.fail(key, "is missing"); return; }
    const a = v.asArray();
    if (a === null) { this.fail(key, "expected an array, got " + v.typeName); return; }
    if (a.length > MAX_GLOBS) { this.fail(key, "expected at most " + MAX_GLOBS.toString() + " patterns, got " + a.length.toString()); return; }
    for (let i = 0, n = a.length; i < n; i++) {
      const item = unchecked(a.items[i]);
      const s = item.asText();
      if (s === null) { this.fail(key + "/" + i.toString(), "expected text, got " + item.typeName); return; }
      const p = checkId(s, 128, true);
      if (p !== null) { this.fail(key + "/" + i.toString(), p); return; }
      out.push(s);
    }
  }
}

const TOP = ["type", "id", "plan", "consumer", "provider", "permissions", "quotas", "pricing", "validity", "signatures"];
const PERMISSIONS = ["intents", "exports"];
const QUOTAS = ["windowMs", "callsPerWindow", "costUnitsPerWindow", "storageBytes", "maxConcurrent"];
const PRICING = ["currency", "baseFee", "perCall", "perCostUnit"];
const VALIDITY = ["notBefore", "notAfter"];
const SIGNATURE = ["party", "key", "sig"];

function isUpper3(s: string): bool {
  if (s.length != 3) return false;
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x41 || c > 0x5a) return false;
  }
  return true;
}

function isB64(s: string, n: i32): bool {
  if (s.length != n) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** Read and check a document; null with `docError` set when it breaks a rule of the schema. */
export function readAgreement(v: Value): Agreement | null {
  const m = v.asMap();
  if (m === null) return bad("/", "expected a map, got " + v.typeName);
  const top = onlyKeys(m, TOP);
  if (top !== null) return bad("/", top);
  const r = new Reader(m, "");
  const a = new Agreement();
  a.doc = m;
  const type = m.get("type");
  if (type === null) return bad("/type", "is missing");
  if (type.asText() === null || type.asText()! != "mcp0.agreement/1") return bad("/type", 'expected "mcp0.agreement/1"');
  const id = r.text("id", 128);
  r.text("plan", 64, false);
  const consumer = r.text("consumer", 128);
  const provider = r.text("provider", 128);
  const perms = r.map("permissions", PERMISSIONS);
  const quotas = r.map("quotas", QUOTAS);
  const pricing = r.map("pricing", PRICING);
  const validity = r.map("validity", VALIDITY);
  if (r.problem !== null) return problem(r.problem!);
  a.id = id!;
  // A party that is not a key id could be signed for by any key (issue 12, defect 4).
  if (!isKeyId(consumer!)) return bad("/consumer", KEY_ID_EXPECTED + ', got "' + consumer! + '"');
  if (!isKeyId(provider!)) return bad("/provider", KEY_ID_EXPECTED + ', got "' + provider! + '"');
  // One key on both sides could set any terms and have them look agreed.
  if (consumer! == provider!) return bad("/provider", "expected a key other than the consumer's (an agreement is between two parties), got the consumer's key id " + consumer!);
  a.consumer = consumer!;
  a.provider = provider!;

  const p = new Reader(perms!, "/permissions");
  p.globs("intents", a.intents);
  p.globs("exports", a.exportGlobs);
  if (p.problem !== null) return problem(p.problem!);

  const q = new Reader(quotas!, "/quotas");
  a.windowMs = q.uint("windowMs", true, 1);
  a.callsPerWindow = q.uint("callsPerWindow", false);
  a.costUnitsPerWindow = q.uint("costUnitsPerWindow", false);
  a.storageBytes = q.uint("storageBytes", false);
  a.maxConcurrent = q.uint("maxConcurrent", false);
  if (q.problem !== null) return problem(q.problem!);

  const c = new Reader(pricing!, "/pricing");
  const cur = pricing!.get("currency");
  if (cur === null || cur.asText() === null || !isUpper3(cur.asText()!)) return bad("/pricing/currency", "expected a 3-letter ISO 4217 code such as EUR");
  a.currency = cur.asText()!;
  a.baseFee = c.uint("baseFee", true);
  a.perCall = c.uint("perCall", true);
  a.perCostUnit = c.uint("perCostUnit", true);
  if (c.problem !== null) return problem(c.problem!);

  const t = new Reader(validity!, "/validity");
  a.notBefore = t.uint("notBefore", true);
  a.notAfter = t.uint("notAfter", true);
  if (t.problem !== null) return problem(t.problem!);
  if (a.notBefore >= a.notAfter) return bad("/validity", "expected notBefore < notAfter, got " + a.notBefore.toString() + " ≥ " + a.notAfter.toString());

  const sv = m.get("signatures");
  if (sv !== null) {
    const arr = sv.asArray();
    if (arr === null) return bad("/signatures", "expected an array, got " + sv.typeName);
    if (arr.length > 2) return bad("/signatures", "expected at most 2 signatures, got " + arr.length.toString());
    for (let i = 0, n = arr.length; i < n; i++) {
      const path = "/signatures/" + i.toString();
      const sm = unchecked(arr.items[i]).asMap();
      if (sm === null) return bad(path, "expected a map, got " + unchecked(arr.items[i]).typeName);
      const sk = onlyKeys(sm, SIGNATURE);
      if (sk !== null) return bad(path, sk);
      const party = sm.getText("party");
      const key = sm.getText("key");
      const sig = sm.getText("sig");
      if (party === null || (party != "consumer" && party != "provider")) return bad(path + "/party", 'expected "consumer" or "provider"');
      if (key === null || !isB64(key, 43)) return bad(path + "/key", "expected a 32-byte Ed25519 public key as 43 base64url characters");
      if (sig === null || !isB64(sig, 86)) return bad(path + "/sig", "expected a 64-byte Ed25519 signature as 86 base64url characters");
      for (let j = 0; j < a.signatures.length; j++) {
        if (unchecked(a.signatures[j]).party == party) return bad(path + "/party", "expected at most one signature by the " + party + ", got two");
      }
      a.signatures.push(new Signature(party, key, sig));
    }
  }
  return a;
}

/** The document without its signatures: what both parties sign. */
export function unsignedBody(doc: CborMap): CborMap {
  const out = Value.map();
  for (let i = 0, n = doc.entries.length; i < n; i++) {
    const e = unchecked(doc.entries[i]);
    if (e.key.kind == Kind.Text && changetype<CborText>(e.key).value == "signatures") continue;
    out.setKey(e.key, e.value);
  }
  return out;
}

