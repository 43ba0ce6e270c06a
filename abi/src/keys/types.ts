/** The key shapes shared by the key and signature layers: parsed keys and their JWK forms. */

/** An Ed25519 public key, as trusted lists and verifiers hold it. */
export interface PublicKey {
  readonly type: 'public';
  /** The 32-byte RFC 8032 public key (JWK "x"). */
  readonly bytes: Uint8Array;
  /** The RFC 7638 JWK thumbprint (base64url SHA-256): the key id everywhere in MCP-ZERO. */
  readonly kid: string;
}

/** An Ed25519 private key with its public half. */
export interface PrivateKey {
  readonly type: 'private';
  /** The 32-byte RFC 8032 secret seed (JWK "d"). */
  readonly seed: Uint8Array;
  readonly publicKey: PublicKey;
  /** Same as `publicKey.kid`. */
  readonly kid: string;
}

/** A public key as a JWK (RFC 8037 §2). `kid`, when present, is the RFC 7638 thumbprint. */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid?: string;
}

/** A private key as a JWK (RFC 8037 §2): the public members plus the seed `d`. */
export interface PrivateJwk extends PublicJwk {
  d: string;
}
