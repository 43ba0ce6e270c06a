/**
 * mcp0.example.counter: the smallest example agent, and the template `mcp0 new --kind agent`
 * copies. An agent is a module of kind "agent": it runs in the worker tier, one instance per agent,
 * and its `kv` is the agent's own state tree in the storage plugin, so every change is part of a
 * snapshot. The node applies an operation's writes together when the operation succeeds.
 */
import { Value, decode, encode, fail, failWith, kvGet, kvPut, readArgs, respond } from "@mcp0/abi/as";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

const KEY = "/counter";
/**
 * The largest counter: 2^53 - 1, the largest integer the JSON view of the output schema can hold
 * (ABI.md §2), so every answer keeps the manifest's promise.
 */
const MAX: u64 = 9007199254740991;

export function mcp0_init(): i32 {
  return 0;
}

export function mcp0_stop(): i32 {
  return 0;
}

/** {by?: uint} → {value}. */
export function increment(): i32 {
  const a = readArgs();
  const by = a.uintOr("by", 1);
  if (a.error !== null) return a.fail();
  const current = load();
  if (current < 0) return 1;
  const value = <u64>current;
  if (value > MAX || by > MAX - value) return fail("EINPUT", '"by" = ' + by.toString() + " would take the counter at " + value.toString() + " past " + MAX.toString());
  return store(value + by);
}

/** {} → {value}. */
export function get(): i32 {
  const current = load();
  if (current < 0) return 1;
  return respond(Value.map().set("value", Value.uint(<u64>current)));
}

/** {} → {value: 0}. */
export function reset(): i32 {
  return store(0);
}

/** The stored counter, or -1 once the call has failed (the error is already set). */
function load(): i64 {
  const got = kvGet(KEY);
  if (!got.ok) { failWith(got.error!); return -1; }
  const stored = got.value;
  if (stored === null) return 0;
  const d = decode(stored);
  if (!d.ok || !d.value.isUint() || d.value.asUint() > <u64>i64.MAX_VALUE) { fail("ESTATE", '"' + KEY + '" does not hold a counter'); return -1; }
  return <i64>d.value.asUint();
}

function store(value: u64): i32 {
  const err = kvPut(KEY, encode(Value.uint(value)));
  if (err !== null) return failWith(err);
  return respond(Value.map().set("value", Value.uint(value)));
}
