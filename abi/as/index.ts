/**
 * @mcp0/abi/as: the guest library (PDK) every MCP-ZERO plugin imports, and the only one it
 * imports. It speaks ABI v1: Extism transport, CBOR payloads, host functions in `mcp0:abi/v1`.
 * A plugin re-exports the version marker: `export { mcp0_abi_v1 } from "@mcp0/abi/as";`
 */
export * from "./result";
export * from "./cbor";
export * from "./decode";
export * from "./extism";
export * from "./errors";
export * from "./host";
export * from "./args";
export * from "./io";
export * from "./hooks";
export * from "./base64url";
export * from "./keys";

import { Value, encode } from "./cbor";
import { setOutput } from "./extism";

/** The ABI version this library speaks. */
export const ABI_VERSION = "1.0.0";

/** The version marker export: outputs CBOR text "1.0.0" and returns 0. */
export function mcp0_abi_v1(): i32 {
  setOutput(encode(Value.text(ABI_VERSION)));
  return 0;
}
