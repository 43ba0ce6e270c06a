/** @mcp0/tools: the `mcp0` CLI and the plugin build, usable as a library too. */
export { main, COMMANDS } from './cli.js';
export * from './build/index.js';
export { jsonToCbor, cborToJson } from './json-cbor.js';
export { resolveTrust, keyringDir, addToKeyring } from './keyring.js';
