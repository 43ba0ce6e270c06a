"""MCP-ZERO's typed error and the gRPC mapping (abi/ABI.md "Errors over gRPC").

A node answers each error with one gRPC status and puts the ABI code itself in the trailer
``mcp0-code`` (and a denial's wait in ``mcp0-retry-after-ms``), so the client rebuilds the same
typed error the node raised; the status alone is a fallback for answers that carry no code (a
deadline this client set, a node it cannot reach). The tables mirror abi/src/errors/codes.ts and
grpc.ts, and sdk/src/rpc/status.ts's ``errorOf``.
"""

from __future__ import annotations

import re
from typing import Any

import grpc

#: Every ABI error code (abi/src/errors/codes.ts): codes are never renamed or reused.
ERROR_CODES: frozenset[str] = frozenset(
    {
        "ENOTWASM",
        "ESIGNATURE",
        "EUNTRUSTED",
        "EMANIFEST",
        "EABI",
        "EIMPORT",
        "ECAPABILITY",
        "EPERM",
        "EINPUT",
        "ETOOBIG",
        "ENOTFOUND",
        "ETRAP",
        "ETIMEOUT",
        "EMEMORY",
        "EGUEST",
        "EUNAVAILABLE",
        "EBUSY",
        "ECONFLICT",
        "EDENIED",
        "ESTATE",
        "EINTERNAL",
        "EUSAGE",
    }
)

#: The trailer holding the ABI error code.
CODE_TRAILER = "mcp0-code"
#: The trailer holding a denial's retry-after, in ms.
RETRY_TRAILER = "mcp0-retry-after-ms"

# A retry-after is a count of ms the node wrote with Math.ceil; anything else in the trailer is
# ignored rather than trusted (16 digits: beyond any wait a node would ask for).
_RETRY = re.compile(r"[0-9]{1,16}")

# What a status without an ABI code means (sdk/src/rpc/status.ts `errorOf`).
_FALLBACK = {
    grpc.StatusCode.DEADLINE_EXCEEDED: "ETIMEOUT",
    grpc.StatusCode.UNAVAILABLE: "EUNAVAILABLE",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ETOOBIG",
    grpc.StatusCode.UNAUTHENTICATED: "ESIGNATURE",
    grpc.StatusCode.CANCELLED: "ESTATE",
}


class Mcp0Error(Exception):
    """An error with a stable ABI ``code``, a message saying what was expected and what came, and
    ``details`` carrying the values.

    Example::

        try:
            client.agents.get("notes").execute("remember", {"text": "hi"})
        except Mcp0Error as e:
            if e.code == "EDENIED" and e.retry_after_ms is not None:
                time.sleep(e.retry_after_ms / 1000)
    """

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    @property
    def retry_after_ms(self) -> int | None:
        """For a denial that may pass later (a rate, a quota): how long to wait, in ms."""
        retry = self.details.get("retryAfterMs")
        return retry if isinstance(retry, int) and not isinstance(retry, bool) else None

    @property
    def status(self) -> int | None:
        """The gRPC status number the error came with, when it came over gRPC."""
        status = self.details.get("status")
        return status if isinstance(status, int) and not isinstance(status, bool) else None


def _trailer(metadata: Any, key: str) -> str | None:
    """The first value of ``key`` in gRPC metadata (a sequence of (key, value) pairs), as text."""
    for item in metadata or ():
        try:
            k, v = item
        except (TypeError, ValueError):
            continue
        if k == key:
            if isinstance(v, bytes):
                try:
                    return v.decode("utf-8")
                except UnicodeDecodeError:
                    return None
            return v if isinstance(v, str) else None
    return None


def error_from_rpc(error: grpc.RpcError) -> Mcp0Error:
    """The typed error a failed call carries: the ABI code from its ``mcp0-code`` trailer, else one
    that fits its status.

    Example::

        try:
            stub.Execute(call, timeout=5)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from e
    """
    status = _call(error, "code")
    message = _call(error, "details")
    if not isinstance(message, str) or message == "":
        message = str(error)
    trailers = _call(error, "trailing_metadata")
    given = _trailer(trailers, CODE_TRAILER)
    retry_text = _trailer(trailers, RETRY_TRAILER)
    details: dict[str, Any] = {}
    if isinstance(status, grpc.StatusCode):
        details["status"] = status.value[0]
    if retry_text is not None and _RETRY.fullmatch(retry_text):
        details["retryAfterMs"] = int(retry_text)
    if given in ERROR_CODES:
        return Mcp0Error(given, message, details)
    code = _FALLBACK.get(status, "EINTERNAL") if isinstance(status, grpc.StatusCode) else "EINTERNAL"
    name = status.name if isinstance(status, grpc.StatusCode) else "status unknown"
    return Mcp0Error(code, f"gRPC {name}: {message}", details)


def _call(error: Any, name: str) -> Any:
    """``error.<name>()``, or None: an RpcError raised before the call started has no status."""
    fn = getattr(error, name, None)
    if not callable(fn):
        return None
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a missing status is a fallback, not a second failure
        return None
