/**
 * mcp0.rpc: the reference plugin of `mcp0.rpc@1` (abi/ROLES.md), the policy half of a node's
 * network transport. `verify` is in verify.ts; the envelope's reading and signed bytes in
 * envelope.ts, seen nonces in replay.ts, token buckets in buckets.ts, the operator's config in
 * config.ts; README.md has the checks, the config, the kv layout and the limits.
 */
import { failWith, readInput } from "@mcp0/abi/as";
import { configure } from "./config";

export { mcp0_abi_v1 } from "@mcp0/abi/as";
export { verify } from "./verify";

/** Reads the config map; one it cannot read fails the load (EINPUT naming the member). */
export function mcp0_init(): i32 {
  const err = configure(readInput());
  return err === null ? 0 : failWith(err!);
}

export function mcp0_stop(): i32 {
  return 0;
}
