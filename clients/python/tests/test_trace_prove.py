"""``client.trace.prove`` (TraceProof) against an in-process stand-in for a node: what it sends (the
range, the cost limit as decimal text, a deadline long enough to prove), what it refuses before
sending, and the node's refusal of a key that is not an operator's. The real node proves in
test_live_prove.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from nacl.signing import SigningKey

from mcp0 import Client, Mcp0Error, key_id
from mcp0.generated import node_pb2

from .fake_node import FakeNode, serving

PROOF = {"pi_a": ["1", "2", "1"], "pi_b": [["1", "2"], ["3", "4"], ["1", "0"]], "pi_c": ["5", "6", "1"], "protocol": "groth16", "curve": "bn128"}


class ProvingNode(FakeNode):
    """The stand-in, with TraceProof for the operator: it answers a proof file of the range asked."""

    def __init__(self, operator: str) -> None:
        super().__init__(operator)
        self.deadlines: list[float] = []

    def TraceProof(self, request: node_pb2.Call, context: grpc.ServicerContext) -> node_pb2.Result:
        e, value = self._check(request, context, "", "mcp0.v1.Node/TraceProof")
        if e.caller != self.operator:
            self._fail(context, "EPERM", f"{e.caller} is not an operator", grpc.StatusCode.PERMISSION_DENIED)
        self.deadlines.append(context.time_remaining())
        file = {"proof": PROOF, "publicSignals": ["7", "3", "2", "0", value.get("costLimit", "20000")], "from": value["from"], "to": value["to"], "batchSize": 32}
        return self._result(request, file, seq=9)


@pytest.fixture
def operator() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def node(operator: SigningKey) -> Iterator[tuple[str, ProvingNode]]:
    fake = ProvingNode(key_id(operator))
    with serving(fake) as address:
        yield address, fake


def test_prove_sends_the_range_and_the_limit_as_decimal_text(node: tuple[str, ProvingNode], operator: SigningKey) -> None:
    address, fake = node
    with Client.connect(address, operator, insecure=True, timeout_s=10) as client:
        file: Any = client.trace.prove(0, 1, cost_limit=2**64 - 1)
        assert file == {"proof": PROOF, "publicSignals": ["7", "3", "2", "0", str(2**64 - 1)], "from": 0, "to": 1, "batchSize": 32}
        client.trace.prove(4, 5, agreement="agr-1", timeout_s=30)
    assert fake.calls == [
        ("mcp0.v1.Node/TraceProof", {"from": 0, "to": 1, "costLimit": "18446744073709551615"}),
        ("mcp0.v1.Node/TraceProof", {"from": 4, "to": 5, "agreement": "agr-1"}),
    ]
    # The default deadline is prove's own (PROVE_TIMEOUT_S), not the connection's 10 s.
    assert fake.deadlines[0] > 60 and fake.deadlines[1] < 60


def test_prove_is_for_operators_and_refuses_a_limit_that_is_not_an_int(node: tuple[str, ProvingNode]) -> None:
    address, fake = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as stranger:
        with pytest.raises(Mcp0Error) as e:
            stranger.trace.prove(0, 1, cost_limit=10)
        assert e.value.code == "EPERM" and e.value.status == grpc.StatusCode.PERMISSION_DENIED.value[0]
        for bad in ("10", 1.5, True):
            with pytest.raises(Mcp0Error, match="cost_limit expected an int") as e:
                stranger.trace.prove(0, 1, cost_limit=bad)  # type: ignore[arg-type]  # what the signature forbids
            assert e.value.code == "EUSAGE"
    assert len(fake.calls) == 1
