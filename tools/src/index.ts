/** @mcp0/tools: the `mcp0` CLI, usable as a library too; it re-exports the plugin build of @mcp0/builder. */
export { main, COMMANDS } from './cli.js';
export * from '@mcp0/builder';
export { jsonToCbor, cborToJson } from './json-cbor.js';
export { keyringDir, addToKeyring, findInKeyring, keyringEntries, removeFromKeyring, isKeyId } from './keyring.js';
export { resolveTrust, trustedKeys, isKeyPath, readKey, readPrivateKey, type TrustedKey } from './trust.js';
