/** Agreements on the host: the document schema and limits, templates, canonical bytes, signing and verification. */
export type { Agreement, AgreementParty, AgreementPricing, AgreementQuotas, AgreementSignature, AgreementTemplate } from './types.js';
export {
  AgreementError,
  agreementSchema,
  agreementTemplateSchema,
  MAX_AGREEMENT_BYTES,
  MAX_AGREEMENT_DEPTH,
  parseAgreement,
  validateAgreement,
  validateTemplate,
} from './document.js';
export { agreementSigningBytes, isKeyId, signAgreement, verifyAgreement, type VerifiedAgreement } from './sign.js';
export { agreementTemplates, newAgreement, overrideValue, readAgreementTemplate, type NewAgreementOptions } from './template.js';
