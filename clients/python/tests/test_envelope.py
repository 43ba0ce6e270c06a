"""The rpc envelope: the known answer every implementation reproduces (abi/corpus/rpc/envelope-v1.json),
its signature checked by an independent route, and every way to forge or break one, as
abi/src/rpc/envelope.test.ts checks the TypeScript side."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import cbor2
import pytest
from nacl.signing import SigningKey, VerifyKey

from mcp0 import Mcp0Error, cbor, decode_envelope, envelope_hash, key_id, sign_envelope, verify_envelope
from mcp0.envelope import ENVELOPE_DOMAIN, now_ms


@pytest.fixture
def vector(envelope_vector: dict[str, Any]) -> dict[str, Any]:
    return envelope_vector


def key_of(vector: dict[str, Any]) -> SigningKey:
    return SigningKey(bytes.fromhex(vector["seed"]))


def made(vector: dict[str, Any]) -> bytes:
    return sign_envelope(
        key_of(vector),
        vector["target"],
        vector["method"],
        bytes.fromhex(vector["payload"]),
        vector["deadline"],
        time_ms=vector["time"],
        nonce=bytes.fromhex(vector["nonce"]),
    )


def edited(vector: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The known envelope with ``edit`` applied to its decoded map, re-encoded (its sig kept)."""
    m = cbor.decode(made(vector))
    edit(m)
    return cbor.encode(m)


def test_gives_the_known_answer_bytes(vector: dict[str, Any]) -> None:
    assert made(vector).hex() == vector["envelope"]
    assert key_id(key_of(vector)) == vector["caller"]


def test_the_signature_covers_the_domain_tag_and_the_map_without_sig(vector: dict[str, Any]) -> None:
    # Checked without mcp0's encoder: cbor2's own canonical mode, which for text keys gives the
    # same order (cbor.py says why), and PyNaCl's verify on the raw message.
    m = cbor2.loads(bytes.fromhex(vector["envelope"]))
    sig = m.pop("sig")
    VerifyKey(m["key"]).verify(ENVELOPE_DOMAIN + cbor2.dumps(m, canonical=True), sig)
    assert m["payloadHash"] == hashlib.sha256(bytes.fromhex(vector["payload"])).digest()
    assert list(m) == ["v", "key", "time", "nonce", "caller", "method", "target", "deadline", "payloadHash"]


def test_makes_a_fresh_nonce_and_the_time_now_when_not_given(vector: dict[str, Any]) -> None:
    key = key_of(vector)
    a = decode_envelope(sign_envelope(key, "t", "m", b"\xa0", now_ms() + 1000))
    b = decode_envelope(sign_envelope(key, "t", "m", b"\xa0", now_ms() + 1000))
    assert a.nonce != b.nonce
    assert a.time > vector["time"]


def test_verify_answers_the_envelope_when_it_holds(vector: dict[str, Any]) -> None:
    e = verify_envelope(made(vector), bytes.fromhex(vector["payload"]))
    assert (e.caller, e.target, e.method, e.time, e.deadline) == (vector["caller"], "notes", "remember", vector["time"], vector["deadline"])
    assert envelope_hash(made(vector)) == hashlib.sha256(bytes.fromhex(vector["envelope"])).digest()


def flip(sig: bytes) -> bytes:
    return bytes([sig[0] ^ 1]) + sig[1:]


def test_verify_refuses_every_forgery_with_esignature(vector: dict[str, Any]) -> None:
    payload = bytes.fromhex(vector["payload"])
    other = SigningKey.generate()
    forgeries = {
        "another payload": (made(vector), cbor.encode({"text": "sell milk"})),
        "another target": (edited(vector, lambda m: m.update(target="wallet")), payload),
        "a later deadline": (edited(vector, lambda m: m.update(deadline=vector["deadline"] + 1)), payload),
        "another nonce": (edited(vector, lambda m: m.update(nonce=bytes(16))), payload),
        "another key, same caller": (edited(vector, lambda m: m.update(key=bytes(other.verify_key))), payload),
        "another caller, same key": (edited(vector, lambda m: m.update(caller=key_id(other))), payload),
        "a flipped signature bit": (edited(vector, lambda m: m.update(sig=flip(m["sig"]))), payload),
        # Signed by a key other than the one it names: the thumbprint holds, the signature does not.
        "a swapped key and caller": (edited(vector, lambda m: m.update(key=bytes(other.verify_key), caller=key_id(other))), payload),
    }
    for what, (data, p) in forgeries.items():
        with pytest.raises(Mcp0Error) as e:
            verify_envelope(data, p)
        assert e.value.code == "ESIGNATURE", what
    with pytest.raises(Mcp0Error, match="the signature of .* does not verify"):
        verify_envelope(forgeries["a swapped key and caller"][0], payload)
    with pytest.raises(Mcp0Error, match='"caller" .* is not the key id'):
        verify_envelope(forgeries["another caller, same key"][0], payload)


def test_a_genuine_signature_by_another_key_verifies_only_for_that_key(vector: dict[str, Any]) -> None:
    mallory = SigningKey.generate()
    payload = bytes.fromhex(vector["payload"])
    theirs = sign_envelope(mallory, "notes", "remember", payload, vector["deadline"], time_ms=vector["time"], nonce=bytes(16))
    assert verify_envelope(theirs, payload).caller == key_id(mallory) != vector["caller"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(v=2), '"v" expected 1, got 2'),
        (lambda m: m.update(v=True), '"v" expected 1'),
        (lambda m: m.update(nonce=bytes(8)), '"nonce" expected 16 bytes, got 8 bytes'),
        (lambda m: m.update(key="k"), '"key" expected 32 bytes, got str'),
        (lambda m: m.update(time=-1), '"time" expected an integer'),
        (lambda m: m.update(time=1 << 53), '"time" expected an integer'),
        (lambda m: m.update(deadline=1.5), '"deadline" expected an integer'),
        (lambda m: m.update(extra=1), 'unknown member "extra"'),
        (lambda m: m.pop("method"), '"method" expected text, got nothing'),
        (lambda m: m.pop("sig"), '"sig" expected 64 bytes, got nothing'),
    ],
)
def test_verify_refuses_malformed_envelopes_with_einput_naming_the_member(vector: dict[str, Any], edit: Callable, message: str) -> None:
    with pytest.raises(Mcp0Error, match=message) as e:
        verify_envelope(edited(vector, edit), bytes.fromhex(vector["payload"]))
    assert e.value.code == "EINPUT"


@pytest.mark.parametrize("data", [cbor.encode([1, 2]), b"\xff", b""])
def test_verify_refuses_what_is_not_a_cbor_map(data: bytes) -> None:
    with pytest.raises(Mcp0Error) as e:
        verify_envelope(data, b"")
    assert e.value.code == "EINPUT"


def test_sign_refuses_bad_requests(vector: dict[str, Any]) -> None:
    key = key_of(vector)
    with pytest.raises(Mcp0Error, match='"nonce" expected 16 bytes, got 15'):
        sign_envelope(key, "t", "m", b"", 1, nonce=bytes(15))
    with pytest.raises(Mcp0Error, match='"deadline" expected an integer'):
        sign_envelope(key, "t", "m", b"", -5)
    with pytest.raises(Mcp0Error, match='"time" expected an integer'):
        sign_envelope(key, "t", "m", b"", 1, time_ms=1.0)
    with pytest.raises(Mcp0Error, match="SigningKey"):
        sign_envelope(bytes(32), "t", "m", b"", 1)  # type: ignore[arg-type] - a raw seed is refused
