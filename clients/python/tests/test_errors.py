"""Errors over gRPC (abi/ABI.md "Errors over gRPC"): the typed error rebuilt from a failed call's
trailers, and from its status alone when it carries no code (sdk/src/rpc/status.ts `errorOf`)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from mcp0 import Mcp0Error, error_from_rpc


class FakeRpcError(grpc.RpcError, grpc.Call):
    """What grpcio raises for a failed unary call: an RpcError that is also the Call."""

    def __init__(self, code: grpc.StatusCode | None, details: str | None, trailers: Any = ()) -> None:
        self._code, self._details, self._trailers = code, details, trailers

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str | None:
        return self._details

    def trailing_metadata(self) -> Any:
        return self._trailers

    def initial_metadata(self) -> Any:
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float | None:
        return None

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


def test_the_code_comes_from_the_trailer() -> None:
    e = error_from_rpc(FakeRpcError(grpc.StatusCode.PERMISSION_DENIED, "rpc: caller k is not the consumer of counter", (("mcp0-code", "EPERM"),)))
    assert isinstance(e, Mcp0Error)
    assert (e.code, e.message, e.details) == ("EPERM", "rpc: caller k is not the consumer of counter", {"status": 7})
    assert e.status == 7 and e.retry_after_ms is None
    assert str(e) == "EPERM: rpc: caller k is not the consumer of counter"


def test_a_denial_carries_its_retry_after() -> None:
    trailers = (("content-type", "application/grpc"), ("mcp0-code", "EDENIED"), ("mcp0-retry-after-ms", "250"))
    e = error_from_rpc(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate", trailers))
    assert (e.code, e.retry_after_ms, e.details) == ("EDENIED", 250, {"status": 8, "retryAfterMs": 250})


@pytest.mark.parametrize("retry", ["-1", "1.5", "abc", "", "1" * 17, "0x10"])
def test_a_retry_after_that_is_not_a_count_of_ms_is_ignored(retry: str) -> None:
    e = error_from_rpc(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "rate", (("mcp0-code", "EDENIED"), ("mcp0-retry-after-ms", retry))))
    assert e.retry_after_ms is None and "retryAfterMs" not in e.details


def test_trailer_values_as_bytes_are_read_as_text() -> None:
    e = error_from_rpc(FakeRpcError(grpc.StatusCode.NOT_FOUND, "no agent", ((b"x", b"y"), ("mcp0-code", b"ENOTFOUND"))))
    assert e.code == "ENOTFOUND"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (grpc.StatusCode.DEADLINE_EXCEEDED, "ETIMEOUT"),
        (grpc.StatusCode.UNAVAILABLE, "EUNAVAILABLE"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "ETOOBIG"),
        (grpc.StatusCode.UNAUTHENTICATED, "ESIGNATURE"),
        (grpc.StatusCode.CANCELLED, "ESTATE"),
        (grpc.StatusCode.PERMISSION_DENIED, "EINTERNAL"),
        (grpc.StatusCode.UNKNOWN, "EINTERNAL"),
    ],
)
def test_without_a_code_the_status_decides(status: grpc.StatusCode, code: str) -> None:
    e = error_from_rpc(FakeRpcError(status, "Deadline Exceeded"))
    assert e.code == code
    assert e.message == f"gRPC {status.name}: Deadline Exceeded"
    assert e.status == status.value[0]


@pytest.mark.parametrize("given", ["ENOPE", "eperm", "", "EPERM "])
def test_a_code_that_is_not_the_abis_falls_back_on_the_status(given: str) -> None:
    e = error_from_rpc(FakeRpcError(grpc.StatusCode.UNAVAILABLE, "gone", (("mcp0-code", given),)))
    assert e.code == "EUNAVAILABLE"


def test_an_error_without_status_or_trailers_is_einternal() -> None:
    e = error_from_rpc(FakeRpcError(None, None, None))
    assert e.code == "EINTERNAL" and "status" not in e.details
