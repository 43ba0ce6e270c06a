/**
 * mcp0.example.memory: an example agent that stores, lists and recalls notes. Its state is a
 * hierarchy in the agent's own tree: `/memory/next` (the next note id) and
 * `/memory/notes/<10-digit id>` (one CBOR map per note), so ids sort in key order and a snapshot
 * captures every note.
 */
import { CborMap, Value, clockNow, decode, encode, fail, failWith, kvDelete, kvGet, kvPut, kvScan, readArgs, respond } from "@mcp0/abi/as";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

const NEXT = "/memory/next";
const NOTES = "/memory/notes/";
const MAX_TEXT: i32 = 16 * 1024;
const MAX_TAGS: i32 = 16;
const PAGE: u32 = 100;

export function mcp0_init(): i32 {
  return 0;
}

export function mcp0_stop(): i32 {
  return 0;
}

/** {text, tags?: [text]} → {id}. */
export function remember(): i32 {
  const a = readArgs();
  const text = a.text("text");
  const tags = a.has("tags") ? a.array("tags") : Value.array();
  if (a.error !== null) return a.fail();
  if (text.length == 0 || text.length > MAX_TEXT) return fail("EINPUT", '"text": expected 1 to ' + MAX_TEXT.toString() + " characters, got " + text.length.toString());
  if (tags.length > MAX_TAGS) return fail("EINPUT", '"tags": at most ' + MAX_TAGS.toString() + ", got " + tags.length.toString());
  for (let i = 0; i < tags.length; i++) {
    if (tags.at(i)!.asText() === null) return fail("EINPUT", '"tags"[' + i.toString() + "]: expected text, got " + tags.at(i)!.typeName);
  }
  const now = clockNow();
  if (!now.ok) return failWith(now.error!);

  const next = kvGet(NEXT);
  if (!next.ok) return failWith(next.error!);
  let id: u64 = 1;
  if (next.value !== null) {
    const d = decode(next.value!);
    if (!d.ok || !d.value.isUint()) return fail("ESTATE", '"' + NEXT + '" does not hold a uint');
    id = d.value.asUint();
  }
  const note = Value.map().set("text", Value.text(text)).set("tags", tags).set("time", Value.uint(now.value));
  let err = kvPut(noteKey(id), encode(note));
  if (err === null) err = kvPut(NEXT, encode(Value.uint(id + 1)));
  if (err !== null) return failWith(err);
  return respond(Value.map().set("id", Value.uint(id)));
}

/** {limit?, after?: id} → {notes, next}. */
export function list(): i32 {
  const a = readArgs();
  const limit = a.uintOr("limit", 20);
  const after = a.uintOr("after", 0);
  if (a.error !== null) return a.fail();
  if (limit == 0 || limit > PAGE) return fail("EINPUT", '"limit": expected 1 to ' + PAGE.toString() + ", got " + limit.toString());
  const got = kvScan(NOTES, <u32>limit + 1, after == 0 ? null : noteKey(after));
  if (!got.ok) return failWith(got.error!);
  const notes = Value.array();
  let next: Value = Value.nil();
  for (let i = 0; i < got.value.length; i++) {
    if (<u64>i == limit) { next = Value.uint(idOf(got.value[i - 1].key)); break; }
    const n = noteValue(got.value[i].key, got.value[i].value);
    if (n === null) return fail("ESTATE", got.value[i].key + " does not hold a note");
    notes.push(n);
  }
  return respond(Value.map().set("notes", notes).set("next", next));
}

/** {query, limit?} → {notes}: newest first. Scans every note: fine for an example's hundreds. */
export function recall(): i32 {
  const a = readArgs();
  const query = a.text("query");
  const limit = a.uintOr("limit", 10);
  if (a.error !== null) return a.fail();
  if (query.length == 0) return fail("EINPUT", '"query": expected at least one character');
  const needle = lower(query);
  const found = new Array<Value>();
  let after: string | null = null;
  for (;;) {
    const got = kvScan(NOTES, PAGE, after);
    if (!got.ok) return failWith(got.error!);
    for (let i = 0; i < got.value.length; i++) {
      const n = noteValue(got.value[i].key, got.value[i].value);
      if (n === null) return fail("ESTATE", got.value[i].key + " does not hold a note");
      if (matches(n, needle)) found.push(n);
    }
    if (<u32>got.value.length < PAGE) break;
    after = got.value[got.value.length - 1].key;
  }
  const notes = Value.array();
  for (let i = found.length - 1; i >= 0 && <u64>notes.length < limit; i--) notes.push(found[i]);
  return respond(Value.map().set("notes", notes));
}

/** {id} → {existed}. */
export function forget(): i32 {
  const a = readArgs();
  const id = a.uint("id");
  if (a.error !== null) return a.fail();
  const r = kvDelete(noteKey(id));
  if (!r.ok) return failWith(r.error!);
  return respond(Value.map().set("existed", Value.bool(r.value)));
}

function noteKey(id: u64): string {
  let digits = id.toString();
  while (digits.length < 10) digits = "0" + digits;
  return NOTES + digits;
}

function idOf(key: string): u64 {
  return U64.parseInt(key.substring(NOTES.length), 10);
}

/** The stored note with its id, or null when the bytes are not a note map. */
function noteValue(key: string, bytes: Uint8Array): CborMap | null {
  const d = decode(bytes);
  if (!d.ok) return null;
  const m = d.value.asMap();
  if (m === null || m.getText("text") === null) return null;
  return Value.map().set("id", Value.uint(idOf(key))).set("text", m.get("text")!)
    .set("tags", m.getArray("tags") === null ? Value.array() : m.get("tags")!).set("time", m.get("time") === null ? Value.uint(0) : m.get("time")!);
}

function matches(note: CborMap, needle: string): bool {
  if (lower(note.getText("text")!).includes(needle)) return true;
  const tags = note.getArray("tags")!;
  for (let i = 0; i < tags.length; i++) {
    const t = tags.at(i)!.asText();
    if (t !== null && lower(t).includes(needle)) return true;
  }
  return false;
}

/** ASCII lower case: deterministic, unlike locale-aware folding. */
function lower(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}
