/**
 * mcp0.agreements: signed agreements between consumers and providers, enforced as pipeline hooks.
 * admit and observe are in hooks.ts, the service exports in service.ts; README.md has the
 * document, the binding rules, the kv layout and the denial reasons.
 */
export { mcp0_abi_v1 } from "@mcp0/abi/as";
export { mcp0_admit, mcp0_observe } from "./hooks";
export { register, revoke, get, bind, unbind, meter, usage, invoice } from "./service";

export function mcp0_init(): i32 {
  return 0;
}

export function mcp0_stop(): i32 {
  return 0;
}
