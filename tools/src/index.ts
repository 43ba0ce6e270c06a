/** @mcp0/tools: the `mcp0` CLI and the plugin build, usable as a library too. */
export { main, COMMANDS } from './cli.js';
export * from './build/index.js';
export { jsonToCbor, cborToJson } from './json-cbor.js';
export { keyringDir, addToKeyring, findInKeyring, keyringEntries, removeFromKeyring, isKeyId } from './keyring.js';
export { resolveTrust, trustedKeys, isKeyPath, readKey, readPrivateKey, type TrustedKey } from './trust.js';
