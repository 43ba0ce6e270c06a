/**
 * @mcp0/abi: the contract between an MCP-ZERO host and its plugins. ABI.md is the prose; this
 * package is the executable form: tables, manifest, CBOR profile, artifact sections, signatures,
 * keys and error codes.
 */
export * from './abi-v1.js';
export * from './errors/index.js';
export * from './cbor/index.js';
export * from './json/index.js';
export * from './wasm/leb128.js';
export * from './wasm/sections.js';
export * from './manifest/index.js';
export * from './checks.js';
export * from './grants.js';
export * from './lock.js';
export * from './keys/index.js';
export * from './signature/index.js';
export * from './agreement/index.js';
export * from './corpus/hostile.js';
export * from './roles/index.js';
export * from './statement/index.js';
export * from './rpc/index.js';
