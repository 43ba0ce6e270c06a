/** The ABI's deterministic CBOR profile (host side). */
export * from './cbor.js';
