/**
 * Verifying both parties' signatures inside the plugin, through the `crypto` capability:
 * Ed25519 over the canonical JSON (jcs.ts) of the document without `signatures`, computed here
 * from the document itself. Each party is a key id and must have signed with that very key (its
 * RFC 7638 thumbprint, computed with the host's SHA-256), so the two signers are two keys.
 */
import { Err, base64urlDecode, ed25519Verify, keyIdOf } from "@mcp0/abi/as";
import { Agreement, Signature, unsignedBody } from "./document";
import { canonicalJson, jcsError, utf8 } from "./jcs";

/** The outcome of verification: the signers' key ids, or an error (ESIGNATURE, or the host's code). */
export class Verified {
  consumerKey: string = "";
  providerKey: string = "";
  error: Err | null = null;
}

function find(a: Agreement, party: string): Signature | null {
  for (let i = 0, n = a.signatures.length; i < n; i++) {
    const s = unchecked(a.signatures[i]);
    if (s.party == party) return s;
  }
  return null;
}

function verifyOne(a: Agreement, party: string, msg: Uint8Array, out: Verified): string | null {
  const s = find(a, party);
  if (s === null) { out.error = new Err("ESIGNATURE", "agreement " + a.id + ": expected signatures by the consumer and the provider, the " + party + "'s is missing"); return null; }
  const key = base64urlDecode(s.key);
  const sig = base64urlDecode(s.sig);
  if (key === null || key.length != 32 || sig === null || sig.length != 64) {
    out.error = new Err("ESIGNATURE", "agreement " + a.id + ": the " + party + "'s key or signature is not canonical base64url of 32 and 64 bytes");
    return null;
  }
  const ok = ed25519Verify(key, msg, sig);
  if (!ok.ok) { out.error = ok.error; return null; }
  if (!ok.value) { out.error = new Err("ESIGNATURE", "agreement " + a.id + ": the " + party + "'s signature does not verify (tampered, or signed by another key)"); return null; }
  // The key's RFC 7638 thumbprint; base64urlDecode took only canonical text, so this is the id of `s.key` as written.
  const thumb = keyIdOf(key);
  if (!thumb.ok) { out.error = new Err("EUNAVAILABLE", "crypto_sha256 failed while computing the " + party + "'s key id (" + thumb.error!.toString() + ")"); return null; }
  const kid = thumb.value;
  const id = party == "consumer" ? a.consumer : a.provider;
  if (id != kid) {
    out.error = new Err("ESIGNATURE", "agreement " + a.id + ": the " + party + " is the key " + id + ", but its signature is by " + kid);
    return null;
  }
  return kid;
}

/** Verify both signatures of a checked agreement. */
export function verifyAgreement(a: Agreement): Verified {
  const out = new Verified();
  const text = canonicalJson(unsignedBody(a.doc));
  if (text === null) { out.error = new Err("EINPUT", "agreement " + a.id + ": " + jcsError!); return out; }
  const msg = utf8(text);
  const c = verifyOne(a, "consumer", msg, out);
  if (c === null) return out;
  const p = verifyOne(a, "provider", msg, out);
  if (p === null) return out;
  // Unreachable while readAgreement refuses consumer == provider; kept so that no change to those
  // rules can let one key stand on both sides unnoticed.
  if (c == p) { out.error = new Err("ESIGNATURE", "agreement " + a.id + ": expected the consumer and the provider to sign with two different keys, got " + c + " for both"); return out; }
  out.consumerKey = c;
  out.providerKey = p;
  return out;
}
