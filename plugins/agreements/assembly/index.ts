/**
 * mcp0.agreements: signed agreements between consumers and providers, enforced as pipeline hooks.
 * admit and observe are in hooks.ts, the service exports in service.ts, the operator's config
 * (the provider keys the node accepts) in config.ts; README.md has the document, the binding
 * rules, the config, the kv layout and the denial reasons.
 */
import { failWith, readInput } from "@mcp0/abi/as";
import { configure } from "./config";

export { mcp0_abi_v1 } from "@mcp0/abi/as";
export { mcp0_admit, mcp0_observe } from "./hooks";
export { register, revoke, get, bind, unbind, binding, meter, usage, invoice } from "./service";

/** Reads the config map ({providers: [key id, …]}); a malformed one fails the load (EINPUT). */
export function mcp0_init(): i32 {
  const err = configure(readInput());
  return err === null ? 0 : failWith(err!);
}

export function mcp0_stop(): i32 {
  return 0;
}
