/**
 * The constants and decoded shape of the WebAssembly tool-conventions Signatures.md format, as
 * wasmsign2 0.2.8 writes it. The payload of the `signature` custom section is:
 *
 *   spec_version 0x01 · content_type 0x01 (module) · hash_fn 0x01 (SHA-256)
 *   varuint32 n, then n × (varuint32 length ‖ signed hash set)
 *   signed hash set  = varuint32 h ‖ h × 32-byte hash ‖ varuint32 s ‖ s × (varuint32 length ‖ signature)
 *   signature        = varuint32 key_id_len ‖ key_id ‖ alg byte (0x01 Ed25519) ‖ varuint32 len ‖ sig
 *
 * The per-set and per-signature length prefixes are wasmsign2's; the spec's tables leave them out.
 */

/** Name of the custom section holding the signature data; it must be the module's first section. */
export const SIGNATURE_SECTION = 'signature';
/** Name of the custom sections that cut a module into separately hashed parts. */
export const DELIMITER_SECTION = 'signature_delimiter';
/** Domain separation prefix of every signed message. */
export const SIGNATURE_DOMAIN = 'wasmsig';
/** The only specification version there is. */
export const SPEC_VERSION = 0x01;
/** Content type of a WebAssembly module. */
export const CONTENT_TYPE_MODULE = 0x01;
/** Hash function id of SHA-256, the only one defined. */
export const HASH_SHA256 = 0x01;
/** Signature algorithm id of Ed25519. */
export const ALG_ED25519 = 0x01;
/** Bytes in one SHA-256 hash. */
export const HASH_LENGTH = 32;
/** wasmsign2's limits: more signed hash sets, hashes per set or signatures per set is refused. */
export const MAX_SIGNED_HASH_SETS = 64;
export const MAX_HASHES = 64;
export const MAX_SIGNATURES = 256;

/** One signature over a signed hash set. */
export interface SignatureEntry {
  /** Raw key id bytes; absent when the signer gave none (length 0 on the wire). */
  readonly keyId?: Uint8Array;
  /** Algorithm id: 0x01 is Ed25519; others are kept but never verify here. */
  readonly algorithm: number;
  readonly signature: Uint8Array;
}

/** A list of rolling hashes and the signatures over them. */
export interface SignedHashSet {
  readonly hashes: readonly Uint8Array[];
  readonly signatures: readonly SignatureEntry[];
}

/** The decoded payload of a `signature` section (version, content type and hash are fixed). */
export interface SignatureData {
  readonly sets: readonly SignedHashSet[];
}
