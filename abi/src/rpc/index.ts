/** The signed request envelope of the rpc role (abi/ROLES.md, `mcp0.rpc@1`). */
export {
  ENVELOPE_DOMAIN,
  ENVELOPE_NONCE_BYTES,
  ENVELOPE_VERSION,
  decodeEnvelope,
  envelopeHash,
  signEnvelope,
  verifyEnvelope,
  type Envelope,
  type EnvelopeRequest,
} from './envelope.js';
