"""Ed25519 keys as the project's JWK files (RFC 8037 §2: ``{"kty": "OKP", "crv": "Ed25519", "x",
"d", "kid"}``, written by ``mcp0 keygen``), parsed as strictly as abi/src/keys/jwk.ts: every problem
is EUSAGE saying what was expected and what came. Members we do not know are ignored (RFC 7517 §4);
the ones we know must be right, "x" must be the public key of "d", and a "kid" must be the key's
RFC 7638 thumbprint, the key id a node authorises by.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from .errors import Mcp0Error

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")
_ALGS = ("EdDSA", "Ed25519")


def _fail(message: str, **details: Any) -> Mcp0Error:
    return Mcp0Error("EUSAGE", message, details)


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 §2).

    Example::

        b64url_encode(bytes([0xFB, 0xFF]))  # '-_8'
    """
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Unpadded base64url, refusing anything that does not re-encode to the same text (padding,
    other characters, non-zero trailing bits: two spellings of one key would be two key ids).

    Example::

        b64url_decode("-_8", 'JWK "x"')  # b'\\xfb\\xff'
    """
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise _fail(f"{what}: expected unpadded base64url, got {json.dumps(str(text)[:60])}", got=text)
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url_encode(data) != text:
        raise _fail(f"{what}: not canonical base64url (non-zero trailing bits) in {json.dumps(text[:60])}", got=text)
    return data


def key_id(key: SigningKey | VerifyKey | bytes) -> str:
    """The RFC 7638 thumbprint of an Ed25519 key: base64url(SHA-256) of its canonical JWK
    ``{"crv":"Ed25519","kty":"OKP","x":"<base64url x>"}``.

    Example::

        key_id(bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        # 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
    """
    if isinstance(key, SigningKey):
        key = key.verify_key
    public = bytes(key)
    if len(public) != 32:
        raise _fail(f"an Ed25519 public key is 32 bytes, got {len(public)}")
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"' + b64url_encode(public) + '"}'
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two members with one name, so a file could show one key to a
    # reader and use another: refused, as every JSON document the project reads does (ABI.md §9).
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _fail(f'JWK: member "{k}" appears twice', member=k)
        out[k] = v
    return out


def _one_of(jwk: dict[str, Any], name: str, allowed: tuple[str, ...], required: bool) -> None:
    value = jwk.get(name)
    if name not in jwk and not required:
        return
    if not isinstance(value, str) or value not in allowed:
        got = "nothing" if name not in jwk else json.dumps(value)
        expected = " or ".join(json.dumps(a) for a in allowed)
        raise _fail(f'JWK "{name}": expected {expected}, got {got}', member=name, expected=list(allowed), got=value)


def _bytes_member(jwk: dict[str, Any], name: str, length: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        got = "nothing" if name not in jwk else json.dumps(value)
        raise _fail(f'JWK "{name}": expected a base64url string, got {got}', member=name)
    data = b64url_decode(value, f'JWK "{name}"')
    if len(data) != length:
        raise _fail(f'JWK "{name}": expected {length} bytes, got {len(data)}', member=name, expected=length, got=len(data))
    return data


def parse_key(text: str | bytes) -> SigningKey:
    """The private key in a JWK's JSON text (EUSAGE when it is not one, naming the member).

    Example::

        key = parse_key('{"kty":"OKP","crv":"Ed25519","x":"...","d":"..."}')
    """
    try:
        jwk = json.loads(text, object_pairs_hook=_no_duplicates)
    except Mcp0Error:
        raise
    except (ValueError, TypeError) as e:
        raise _fail(f"JWK: expected JSON text, got invalid JSON ({e})") from e
    if not isinstance(jwk, dict):
        raise _fail(f"JWK: expected a JSON object, got {type(jwk).__name__}")
    _one_of(jwk, "kty", ("OKP",), True)
    _one_of(jwk, "crv", ("Ed25519",), True)
    _one_of(jwk, "alg", _ALGS, False)
    _one_of(jwk, "use", ("sig",), False)
    x = _bytes_member(jwk, "x", 32)
    if "d" not in jwk:
        raise _fail(f'JWK: expected a private key (with "d"), got a public key {key_id(x)}', kid=key_id(x))
    key = SigningKey(_bytes_member(jwk, "d", 32))
    derived = bytes(key.verify_key)
    if derived != x:
        raise _fail(
            f'JWK "x": expected {b64url_encode(derived)} (the public key of "d"), got {jwk["x"]}',
            expected=b64url_encode(derived),
            got=jwk["x"],
        )
    kid = key_id(key)
    if "kid" in jwk and jwk["kid"] != kid:
        raise _fail(f'JWK "kid": expected the RFC 7638 thumbprint {kid}, got {json.dumps(jwk["kid"])}', expected=kid, got=jwk["kid"])
    return key


def load_key(path: str | Path) -> SigningKey:
    """The private key in a JWK file (``mcp0 keygen`` writes them); EUSAGE naming the file when it
    cannot be read or is not one.

    Example::

        key = load_key("keys/consumer.jwk")
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise _fail(f"{path}: cannot read the key file ({reason})", path=str(path), reason=reason) from e
    try:
        return parse_key(text)
    except Mcp0Error as e:
        raise Mcp0Error(e.code, f"{path}: {e.message}", {**e.details, "path": str(path)}) from e


def to_jwk(key: SigningKey) -> dict[str, str]:
    """A private key as the project's JWK object, with its thumbprint as "kid" (what
    ``formatJwk`` writes, minus the formatting).

    Example::

        Path("me.jwk").write_text(json.dumps(to_jwk(SigningKey.generate()), indent=2) + "\\n")
    """
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url_encode(bytes(key.verify_key)),
        "d": b64url_encode(bytes(key)),
        "kid": key_id(key),
    }
