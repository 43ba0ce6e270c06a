/**
 * mcp0.hello: the smallest complete MCP-ZERO plugin, and the template `mcp0 new` copies. It shows
 * the whole guest side of ABI v1: raw input and output (echo), a request map with kv state
 * (count), clock and random (stamp), and UTF-8 text (greet).
 */
import { Value, clockNow, fail, failWith, kvGet, kvPut, decode, encode, randomBytes, readArgs, readInput, respond, respondBytes } from "@mcp0/abi/as";

// Every plugin re-exports the ABI version marker.
export { mcp0_abi_v1 } from "@mcp0/abi/as";

/** Called once after loading, with the CBOR config map. hello needs no configuration. */
export function mcp0_init(): i32 {
  return 0;
}

/** Called once before the module is dropped. */
export function mcp0_stop(): i32 {
  return 0;
}

/** Output = input, byte for byte, never decoded: the benchmarks' baseline. */
export function echo(): i32 {
  return respondBytes(readInput());
}

/** {key: text, by?: uint} → {key, value}: adds `by` (default 1) to the counter kept under kv "hello/<key>". */
export function count(): i32 {
  const a = readArgs();
  const key = a.text("key");
  const by = a.uintOr("by", 1);
  if (a.error !== null) return a.fail();

  const kvKey = "hello/" + key;
  const got = kvGet(kvKey);
  if (!got.ok) return failWith(got.error!);
  let value: u64 = 0;
  const stored = got.value;
  if (stored !== null) {
    const d = decode(stored);
    if (!d.ok || !d.value.isUint()) {
      return fail("ESTATE", 'kv "' + kvKey + '" does not hold a CBOR uint' + (d.ok ? ", it holds " + d.value.typeName : ""));
    }
    value = d.value.asUint();
  }
  if (by > U64.MAX_VALUE - value) return fail("EINPUT", '"by" = ' + by.toString() + " would overflow the counter at " + value.toString());
  value += by;

  const err = kvPut(kvKey, encode(Value.uint(value)));
  if (err !== null) return failWith(err);
  return respond(Value.map().set("key", Value.text(key)).set("value", Value.uint(value)));
}

/** {} → {time: uint, nonce: 8 bytes}: the host's clock and randomness. */
export function stamp(): i32 {
  const now = clockNow();
  if (!now.ok) return failWith(now.error!);
  const nonce = randomBytes(8);
  if (!nonce.ok) return failWith(nonce.error!);
  return respond(Value.map().set("time", Value.uint(now.value)).set("nonce", Value.bytes(nonce.value)));
}

/** {name: text} → text "hello, <name>". */
export function greet(): i32 {
  const a = readArgs();
  const name = a.text("name");
  if (a.error !== null) return a.fail();
  return respond(Value.text("hello, " + name));
}
