"""The signed request envelope of ``mcp0.rpc@1`` (abi/ROLES.md), as abi/src/rpc/envelope.ts makes
and checks it: who calls (a key id and its key), what (target and method), the payload's SHA-256,
when (signing time and deadline) and a nonce, signed with Ed25519 over a domain tag and the
envelope's deterministic CBOR without ``sig``. abi/corpus/rpc/envelope-v1.json is the known answer
this file reproduces byte for byte (tests/test_envelope.py).

A node accepts a call only through its rpc plugin's ``verify``, which checks all of this and more
(time, replay, authority, rate); ``verify_envelope`` checks what the envelope says of itself, for
tests and for callers who want an early answer.
"""

from __future__ import annotations

import hashlib
import os
import time as _time
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from . import cbor
from .errors import Mcp0Error
from .keys import key_id

#: What the signature covers first: a tag no other MCP-ZERO signature starts with.
ENVELOPE_DOMAIN = b"mcp0.rpc/1\n"
#: The envelope version this file writes and reads.
ENVELOPE_VERSION = 1
#: The nonce length: 128 random bits, so two envelopes never share one by chance.
ENVELOPE_NONCE_BYTES = 16

_MEMBERS = ("v", "caller", "key", "nonce", "time", "deadline", "target", "method", "payloadHash", "sig")
# The TypeScript side reads times as JavaScript numbers: integers past 2^53 - 1 lose their value.
_MAX_SAFE_INTEGER = (1 << 53) - 1


@dataclass(frozen=True)
class Envelope:
    """A decoded envelope (the members of abi/ROLES.md's table)."""

    v: int
    #: The caller's key id: the RFC 7638 thumbprint of ``key``.
    caller: str
    #: The caller's 32-byte Ed25519 public key.
    key: bytes
    nonce: bytes
    #: When it was signed, ms since the epoch.
    time: int
    #: When the call must be done by, ms since the epoch.
    deadline: int
    #: The agent called, or "" for the node itself.
    target: str
    #: The agent's intent, or the node's method (``mcp0.v1.Node/ListAgents``).
    method: str
    #: SHA-256 of the request's payload bytes.
    payload_hash: bytes
    sig: bytes


def _bad(message: str, **details: Any) -> Mcp0Error:
    return Mcp0Error("EINPUT", f"rpc envelope: {message}", details)


def _uint(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SAFE_INTEGER:
        raise _bad(f'"{name}" expected an integer from 0 to 2^53 - 1, got {value!r}', member=name)
    return value


def _signed_bytes(unsigned: dict[str, Any]) -> bytes:
    """The bytes the signature covers: the domain tag, then the CBOR of the envelope without sig."""
    return ENVELOPE_DOMAIN + cbor.encode(unsigned)


def sign_envelope(
    key: SigningKey,
    target: str,
    method: str,
    payload: bytes,
    deadline_ms: int,
    time_ms: int | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """A signed envelope's CBOR bytes, for a call of ``method`` of ``target`` with ``payload`` (the
    request's CBOR bytes). ``time_ms`` defaults to now, ``nonce`` to 16 random bytes.

    Example::

        payload = cbor.encode({"text": "buy milk"})
        envelope = sign_envelope(key, "notes", "remember", payload, deadline_ms=now_ms() + 5_000)
    """
    if not isinstance(key, SigningKey):
        raise Mcp0Error("EUSAGE", f"rpc envelope: the key must be a nacl.signing.SigningKey, got {type(key).__name__}")
    if not isinstance(target, str) or not isinstance(method, str):
        raise _bad('"target" and "method" expected text')
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise _bad(f"the payload expected bytes (its CBOR), got {type(payload).__name__}")
    time_ms = now_ms() if time_ms is None else time_ms
    nonce = os.urandom(ENVELOPE_NONCE_BYTES) if nonce is None else bytes(nonce)
    if len(nonce) != ENVELOPE_NONCE_BYTES:
        raise _bad(f'"nonce" expected {ENVELOPE_NONCE_BYTES} bytes, got {len(nonce)}', member="nonce")
    unsigned = {
        "v": ENVELOPE_VERSION,
        "caller": key_id(key),
        "key": bytes(key.verify_key),
        "nonce": nonce,
        "time": _uint(time_ms, "time"),
        "deadline": _uint(deadline_ms, "deadline"),
        "target": target,
        "method": method,
        "payloadHash": hashlib.sha256(bytes(payload)).digest(),
    }
    sig = key.sign(_signed_bytes(unsigned)).signature
    return cbor.encode({**unsigned, "sig": sig})


def decode_envelope(data: bytes) -> Envelope:
    """The envelope in ``data``, its shape checked (EINPUT naming the member); not its signature.

    Example::

        e = decode_envelope(envelope)
        print(e.caller, e.method)
    """
    m = cbor.decode(data)
    if not isinstance(m, dict):
        raise _bad("expected a CBOR map")
    extra = [k for k in m if k not in _MEMBERS]
    if extra:
        raise _bad(f'unknown member "{extra[0]}"', member=extra[0])
    v = m.get("v")
    if isinstance(v, bool) or not isinstance(v, int) or v != ENVELOPE_VERSION:
        raise _bad(f'"v" expected {ENVELOPE_VERSION}, got {m.get("v")!r}', member="v")

    def data_of(name: str, length: int) -> bytes:
        b = m.get(name)
        if not isinstance(b, bytes) or len(b) != length:
            got = f"{len(b)} bytes" if isinstance(b, bytes) else type(b).__name__ if name in m else "nothing"
            raise _bad(f'"{name}" expected {length} bytes, got {got}', member=name)
        return b

    def text(name: str) -> str:
        t = m.get(name)
        if not isinstance(t, str):
            raise _bad(f'"{name}" expected text, got {type(t).__name__ if name in m else "nothing"}', member=name)
        return t

    return Envelope(
        v=ENVELOPE_VERSION,
        caller=text("caller"),
        key=data_of("key", 32),
        nonce=data_of("nonce", ENVELOPE_NONCE_BYTES),
        time=_uint(m.get("time"), "time"),
        deadline=_uint(m.get("deadline"), "deadline"),
        target=text("target"),
        method=text("method"),
        payload_hash=data_of("payloadHash", 32),
        sig=data_of("sig", 64),
    )


def verify_envelope(data: bytes, payload: bytes) -> Envelope:
    """The envelope in ``data`` when it is signed by the key it names, that key is its caller's, and
    ``payload`` is what it covers; else ESIGNATURE (EINPUT for a malformed envelope). Replay, time
    and authority are the node's to judge: this checks only what the envelope says of itself.

    Example::

        e = verify_envelope(envelope, payload)
    """
    e = decode_envelope(data)
    kid = key_id(e.key)
    if kid != e.caller:
        raise Mcp0Error("ESIGNATURE", f'rpc envelope: "caller" {e.caller} is not the key id of "key" ({kid})', {"caller": e.caller, "kid": kid})
    unsigned = {
        "v": e.v,
        "caller": e.caller,
        "key": e.key,
        "nonce": e.nonce,
        "time": e.time,
        "deadline": e.deadline,
        "target": e.target,
        "method": e.method,
        "payloadHash": e.payload_hash,
    }
    try:
        VerifyKey(e.key).verify(_signed_bytes(unsigned), e.sig)
    except (BadSignatureError, ValueError) as err:
        raise Mcp0Error("ESIGNATURE", f"rpc envelope: the signature of {e.caller} does not verify", {"caller": e.caller}) from err
    if hashlib.sha256(bytes(payload)).digest() != e.payload_hash:
        raise Mcp0Error("ESIGNATURE", 'rpc envelope: "payloadHash" is not the SHA-256 of the payload sent with it', {"caller": e.caller})
    return e


def envelope_hash(data: bytes) -> bytes:
    """The SHA-256 of an envelope's bytes: what names the call in the callee's trace and logs.

    Example::

        envelope_hash(envelope).hex()
    """
    return hashlib.sha256(bytes(data)).digest()


def now_ms() -> int:
    """Now, in ms since the epoch (what ``time`` and ``deadline`` count)."""
    return _time.time_ns() // 1_000_000
