// RFC 7638 thumbprints as RFC 8037 computes them for Ed25519 keys.
import { describe, expect, it } from 'vitest';
import { base64urlDecode } from './base64url.js';
import { ed25519Thumbprint, jwkThumbprint } from './thumbprint.js';

// RFC 8037 Appendix A.1 / A.3.
const X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const THUMBPRINT = 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k';

describe('jwkThumbprint', () => {
  it('matches RFC 8037 Appendix A.3', () => {
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: X })).toBe(THUMBPRINT);
  });

  it('ignores members other than crv, kty and x, and their order', () => {
    const jwk = { x: X, d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', kid: 'whatever', crv: 'Ed25519', kty: 'OKP' };
    expect(jwkThumbprint(jwk)).toBe(THUMBPRINT);
  });

  it('agrees with the raw-key form', () => {
    expect(ed25519Thumbprint(base64urlDecode(X, 'x'))).toBe(THUMBPRINT);
  });
});
