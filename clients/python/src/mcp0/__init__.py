"""MCP-ZERO's Python client: call a node's agents and methods over gRPC with signed envelopes
(abi/ROLES.md ``mcp0.rpc@1``). README.md beside pyproject.toml has an example.

Example::

    from mcp0 import Client, load_key

    with Client.connect("127.0.0.1:7040", load_key("me.jwk"), insecure=True) as client:
        print(client.agents.get("counter").execute("increment", {"by": 2}))
        # An agent's progress as it runs (over ExecuteStream), then its output:
        client.agents.get("builder").execute("build", {}, on_progress=lambda p: print(p.topic, p.data))
"""

from .client import DEADLINE_SLACK_S, NODE_SERVICE, Client, Progress, Receipt, RemoteAgent, TraceHead, is_loopback, progress_of, receipt_of
from .envelope import Envelope, decode_envelope, envelope_hash, sign_envelope, verify_envelope
from .errors import Mcp0Error, error_from_rpc
from .keys import key_id, load_key, parse_key, to_jwk

__all__ = [
    "DEADLINE_SLACK_S",
    "NODE_SERVICE",
    "Client",
    "Envelope",
    "Mcp0Error",
    "Progress",
    "Receipt",
    "RemoteAgent",
    "TraceHead",
    "decode_envelope",
    "envelope_hash",
    "error_from_rpc",
    "is_loopback",
    "key_id",
    "load_key",
    "parse_key",
    "progress_of",
    "receipt_of",
    "sign_envelope",
    "to_jwk",
    "verify_envelope",
]
