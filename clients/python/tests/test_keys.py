"""JWK key files as the project writes them (abi/src/keys/jwk.ts, file.ts): RFC 8037's example key,
a round trip, and every malformed file refused with EUSAGE naming what is wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from mcp0 import Mcp0Error, key_id, load_key, parse_key, to_jwk
from mcp0.keys import b64url_decode

# RFC 8037 Appendix A.1 (the key of RFC 8032 §7.1 test 1) and its A.3 thumbprint.
D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
KID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def jwk(**members: object) -> str:
    base: dict[str, object] = {"kty": "OKP", "crv": "Ed25519", "x": X, "d": D, "kid": KID}
    base.update(members)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def test_reads_rfc_8037s_key_and_its_thumbprint(tmp_path: Path) -> None:
    path = tmp_path / "me.jwk"
    # As formatJwk writes it: pretty JSON, a final newline, owner-only.
    path.write_text(json.dumps({"kty": "OKP", "crv": "Ed25519", "x": X, "d": D, "kid": KID}, indent=2) + "\n")
    os.chmod(path, 0o600)
    key = load_key(path)
    assert bytes(key).hex() == "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
    assert key_id(key) == KID
    assert to_jwk(key) == {"kty": "OKP", "crv": "Ed25519", "x": X, "d": D, "kid": KID}


def test_round_trips_a_generated_key(tmp_path: Path) -> None:
    key = SigningKey.generate()
    path = tmp_path / "k.jwk"
    path.write_text(json.dumps(to_jwk(key)))
    assert bytes(load_key(str(path))) == bytes(key)


def test_accepts_the_optional_members_it_knows_and_ignores_others() -> None:
    assert key_id(parse_key(jwk(alg="EdDSA", use="sig", kid=..., note="hi"))) == KID
    assert key_id(parse_key(jwk(alg="Ed25519"))) == KID


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "expected JSON text"),
        ("[1]", "expected a JSON object"),
        (jwk(kty="EC"), 'JWK "kty": expected "OKP", got "EC"'),
        (jwk(kty=...), 'JWK "kty": expected "OKP", got nothing'),
        (jwk(crv="X25519"), 'JWK "crv": expected "Ed25519"'),
        (jwk(alg="ES256"), 'JWK "alg": expected "EdDSA" or "Ed25519"'),
        (jwk(alg=None), 'JWK "alg": expected'),
        (jwk(use="enc"), 'JWK "use": expected "sig"'),
        (jwk(x=X + "="), 'JWK "x": expected unpadded base64url'),
        (jwk(x=X.replace("_", "/")), 'JWK "x": expected unpadded base64url'),
        (jwk(x=X[:-1] + "p"), "not canonical base64url"),
        (jwk(x=X[:-4]), 'JWK "x": expected 32 bytes, got 29'),
        (jwk(x=123), 'JWK "x": expected a base64url string, got 123'),
        (jwk(d=...), 'expected a private key \\(with "d"\\), got a public key ' + KID),
        (jwk(d=D[:-2] + "AA"), 'JWK "x": expected .* \\(the public key of "d"\\)'),
        (jwk(kid="someone-else"), 'JWK "kid": expected the RFC 7638 thumbprint ' + KID),
        ('{"kty":"OKP","kty":"OKP","crv":"Ed25519","x":"' + X + '","d":"' + D + '"}', 'member "kty" appears twice'),
    ],
)
def test_refuses_malformed_jwks_with_eusage(text: str, message: str) -> None:
    with pytest.raises(Mcp0Error, match=message) as e:
        parse_key(text)
    assert e.value.code == "EUSAGE"


def test_names_the_file_in_its_errors(tmp_path: Path) -> None:
    with pytest.raises(Mcp0Error, match="cannot read the key file") as e:
        load_key(tmp_path / "missing.jwk")
    assert e.value.code == "EUSAGE" and e.value.details["path"].endswith("missing.jwk")
    bad = tmp_path / "bad.jwk"
    bad.write_text(jwk(kid="x"))
    with pytest.raises(Mcp0Error, match=f'{bad}: JWK "kid"') as e:
        load_key(bad)
    assert e.value.details["path"] == str(bad)


def test_base64url_decodes_strictly() -> None:
    assert b64url_decode("-_8", "t") == b"\xfb\xff"
    for text in ("-_9", "A", "-_8=", "-_8 ", "+/8"):
        with pytest.raises(Mcp0Error):
            b64url_decode(text, "t")
