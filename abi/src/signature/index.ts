/** Module signatures in the WebAssembly tool-conventions Signatures.md format (wasmsign2-compatible). */
export { signModule } from './sign.js';
export { MAX_ANONYMOUS_SIGNATURES, MAX_ED25519_VERIFICATIONS, verifyModule, type Verified, type VerifyModuleOptions } from './verify.js';
export { coversModule, uncovered } from './cover.js';
export { countSignatures, readSignatures, type SignatureSet } from './read.js';
export { stripSignatures } from './strip.js';
export { decodeSignatureData } from './decode.js';
export { encodeSignatureData } from './encode.js';
export { signedMessage } from './message.js';
export { contentHashes } from './hash.js';
export {
  ALG_ED25519,
  CONTENT_TYPE_MODULE,
  DELIMITER_SECTION,
  HASH_SHA256,
  SIGNATURE_DOMAIN,
  SIGNATURE_SECTION,
  SPEC_VERSION,
  type SignatureData,
  type SignatureEntry,
  type SignedHashSet,
} from './format.js';
