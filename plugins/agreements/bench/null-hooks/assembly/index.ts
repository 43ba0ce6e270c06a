/**
 * bench.null-hooks: the cheapest possible admit + observe pair (allow without reading the input;
 * observe nothing). bench/agreements.js measures it to show what any hook pair costs in the
 * pipeline, apart from what mcp0.agreements does inside its hooks.
 */
import { Value, respond } from "@mcp0/abi/as";

export { mcp0_abi_v1 } from "@mcp0/abi/as";

const ALLOW = Value.map().set("allow", Value.bool(true));

export function mcp0_admit(): i32 {
  return respond(ALLOW);
}

export function mcp0_observe(): i32 {
  return 0;
}
