/** The shape of an agreement document (abi/schema/agreement.schema.json) and of its templates. */

/**
 * Which side of the agreement a signature is from.
 * @example
 * const party: AgreementParty = 'consumer'
 */
export type AgreementParty = 'consumer' | 'provider';

/**
 * One party's signature: Ed25519 over the canonical JSON of the document without `signatures`.
 * @example
 * doc.signatures?.find((s: AgreementSignature) => s.party === 'provider')
 */
export interface AgreementSignature {
  party: AgreementParty;
  /** The signer's public key, base64url (JWK `x`). */
  key: string;
  /** The 64-byte signature, base64url. */
  sig: string;
}

/**
 * Limits per window; a missing limit is no limit.
 * @example
 * const q: AgreementQuotas = { windowMs: 60_000, callsPerWindow: 100 }
 */
export interface AgreementQuotas {
  windowMs: number;
  callsPerWindow?: number;
  costUnitsPerWindow?: number;
  storageBytes?: number;
  maxConcurrent?: number;
}

/**
 * Prices in integer minor units of `currency`.
 * @example
 * const p: AgreementPricing = { currency: 'EUR', baseFee: 990, perCall: 1, perCostUnit: 0 }
 */
export interface AgreementPricing {
  currency: string;
  baseFee: number;
  perCall: number;
  perCostUnit: number;
}

/**
 * An agreement document, `type: "mcp0.agreement/1"`.
 * @example
 * const doc: Agreement = parseAgreement(readFileSync('agreement.json', 'utf8'))
 */
export interface Agreement {
  type: 'mcp0.agreement/1';
  id: string;
  plan?: string;
  /** The consumer's key id (RFC 7638 thumbprint): who uses the service and is billed. */
  consumer: string;
  /** The provider's key id, another key than the consumer's: who runs the service (a node accepts the providers its operator lists). */
  provider: string;
  permissions: { intents: string[]; exports: string[] };
  quotas: AgreementQuotas;
  pricing: AgreementPricing;
  /** ms since the epoch: in force for notBefore ≤ t < notAfter. */
  validity: { notBefore: number; notAfter: number };
  signatures?: AgreementSignature[];
}

/**
 * A template: an agreement without parties, id and dates, plus how long it runs.
 * @example
 * const t: AgreementTemplate = readAgreementTemplate('free')
 */
export interface AgreementTemplate {
  plan: string;
  description?: string;
  permissions: Agreement['permissions'];
  quotas: AgreementQuotas;
  pricing: AgreementPricing;
  durationMs: number;
}
