"""MCP-ZERO's Python client: call a node's agents and methods over gRPC with signed envelopes
(abi/ROLES.md ``mcp0.rpc@1``). The gRPC stubs are in ``mcp0.generated``."""

from .envelope import Envelope, decode_envelope, envelope_hash, sign_envelope, verify_envelope
from .errors import Mcp0Error, error_from_rpc
from .keys import key_id, load_key, parse_key, to_jwk

__all__ = [
    "Envelope",
    "Mcp0Error",
    "decode_envelope",
    "envelope_hash",
    "error_from_rpc",
    "key_id",
    "load_key",
    "parse_key",
    "sign_envelope",
    "to_jwk",
    "verify_envelope",
]
