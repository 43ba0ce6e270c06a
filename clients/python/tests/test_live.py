"""The client against a real node over gRPC: the node's rpc plugin judges these calls, not a fake.

A test of the TypeScript suite (sdk/test/rpc/python.test.ts) starts a node with the agents
`counter` (agents/counter) and `progress` (sdk/test/fixtures/progress: `steps` {n} emits "progress"
{step, of} n times, then answers {steps: n}), each bound to an agreement whose consumer is the
consumer's key, and the operator's key in the rpc plugin's config, then runs this file with:

    MCP0_NODE_ADDR      host:port of the node (plaintext, so a loopback address, unless
                        MCP0_NODE_CA is set)
    MCP0_CONSUMER_KEY   a private JWK file: the consumer of counter's agreement
    MCP0_OPERATOR_KEY   a private JWK file: one of the node's operator keys
    MCP0_NODE_CA        optional: the PEM file of the CA that signed the node's certificate (TLS)

Without MCP0_NODE_ADDR the tests are skipped, except in CI (env CI set), where a missing node
fails them: a CI run must run them, never skip (as test/mongo-server.ts does for MongoDB).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from nacl.signing import SigningKey

from mcp0 import Client, Mcp0Error, Progress, cbor, envelope_hash, error_from_rpc, load_key, progress_of, receipt_of, sign_envelope
from mcp0.envelope import now_ms
from mcp0.generated import node_pb2

# Generous: a shared CI machine may be slow to start the agent's worker on the first call.
TIMEOUT_S = 30


@dataclass(frozen=True)
class Live:
    address: str
    consumer: SigningKey
    operator: SigningKey
    ca: bytes | None

    def connect(self, key: SigningKey) -> Client:
        if self.ca is not None:
            return Client.connect(self.address, key, ca=self.ca, timeout_s=TIMEOUT_S)
        return Client.connect(self.address, key, insecure=True, timeout_s=TIMEOUT_S)


@pytest.fixture(scope="module")
def live() -> Live:
    address = os.environ.get("MCP0_NODE_ADDR", "")
    if address == "":
        if os.environ.get("CI"):
            pytest.fail("MCP0_NODE_ADDR is unset: in CI the live test must run against a node (the TypeScript test that starts one sets it)")
        pytest.skip("MCP0_NODE_ADDR is unset: no node to call (set it, MCP0_CONSUMER_KEY and MCP0_OPERATOR_KEY to run these)")
    missing = [name for name in ("MCP0_CONSUMER_KEY", "MCP0_OPERATOR_KEY") if not os.environ.get(name)]
    if missing:
        pytest.fail(f"MCP0_NODE_ADDR is set but {' and '.join(missing)} is not: each names a private JWK file")
    ca = os.environ.get("MCP0_NODE_CA")
    return Live(
        address=address,
        consumer=load_key(os.environ["MCP0_CONSUMER_KEY"]),
        operator=load_key(os.environ["MCP0_OPERATOR_KEY"]),
        ca=Path(ca).read_bytes() if ca else None,
    )


@pytest.fixture
def consumer(live: Live) -> Iterator[Client]:
    with live.connect(live.consumer) as client:
        yield client


def test_the_consumer_increments_the_counter(consumer: Client) -> None:
    counter = consumer.agents.get("counter")
    first = counter.execute("increment", {}, timeout_s=TIMEOUT_S)
    second = counter.execute("increment", {"by": 1}, timeout_s=TIMEOUT_S)
    assert isinstance(first, dict) and isinstance(first.get("value"), int), first
    assert isinstance(second, dict) and isinstance(second.get("value"), int), second
    assert second["value"] > first["value"]
    receipt = consumer.call("counter", "get", {})
    assert receipt.value["value"] >= second["value"]
    assert len(receipt.envelope_hash) == 32


def test_an_operator_lists_the_agents(live: Live) -> None:
    with live.connect(live.operator) as operator:
        agents = operator.agents.list()
    assert isinstance(agents, list)
    assert "counter" in [a.get("name") for a in agents if isinstance(a, dict)], agents


def test_a_stranger_is_refused_with_eperm(live: Live) -> None:
    with live.connect(SigningKey.generate()) as stranger:
        with pytest.raises(Mcp0Error) as e:
            stranger.agents.get("counter").execute("increment", {})
        assert e.value.code == "EPERM", e.value
        assert e.value.status == grpc.StatusCode.PERMISSION_DENIED.value[0]
        with pytest.raises(Mcp0Error) as e:
            stranger.agents.list()
        assert e.value.code == "EPERM", e.value


def test_a_replayed_envelope_is_refused(live: Live, consumer: Client) -> None:
    # The same Call, byte for byte, twice through the raw stub: the node has seen its nonce.
    payload = cbor.encode({})
    envelope = sign_envelope(live.consumer, "counter", "increment", payload, now_ms() + TIMEOUT_S * 1000)
    call = node_pb2.Call(envelope=envelope, payload=payload)
    first = receipt_of(consumer.stub.Execute(call, timeout=TIMEOUT_S))
    assert isinstance(first.value.get("value"), int)
    with pytest.raises(grpc.RpcError) as e:
        consumer.stub.Execute(call, timeout=TIMEOUT_S)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, e.value
    assert error_from_rpc(e.value).code == "EPERM"


def test_the_consumer_streams_the_agents_progress_then_its_result(live: Live, consumer: Client) -> None:
    events: list[Progress] = []
    receipt = consumer.call("progress", "steps", {"n": 5}, timeout_s=TIMEOUT_S, on_progress=events.append)
    assert events == [Progress("progress", {"step": step, "of": 5}) for step in range(1, 6)]
    assert receipt.value == {"steps": 5}
    assert len(receipt.envelope_hash) == 32
    assert receipt.trace is not None and isinstance(receipt.trace.seq, int), receipt.trace
    assert re.fullmatch(r"[0-9]+", receipt.trace.head), receipt.trace
    # The head the receipt names is one the node's chain has reached: its entries run past it.
    with live.connect(live.operator) as operator:
        head = operator.trace.head()
        assert isinstance(head.get("seq"), int) and head["seq"] >= receipt.trace.seq, (head, receipt.trace)
        assert len(operator.trace.entries(receipt.trace.seq, receipt.trace.seq)) == 1
    # The agent handle streams too.
    seen: list[object] = []
    assert consumer.agents.get("progress").execute("steps", {"n": 2}, timeout_s=TIMEOUT_S, on_progress=lambda p: seen.append(p.data)) == {"steps": 2}
    assert seen == [{"step": 1, "of": 2}, {"step": 2, "of": 2}]


def test_a_streamed_result_names_the_envelope_that_asked(live: Live, consumer: Client) -> None:
    # Through the raw stub, to hold the envelope: the result's hash is the node's SHA-256 of it.
    payload = cbor.encode({"n": 3})
    envelope = sign_envelope(live.consumer, "progress", "steps", payload, now_ms() + TIMEOUT_S * 1000)
    messages = list(consumer.stub.ExecuteStream(node_pb2.Call(envelope=envelope, payload=payload), timeout=TIMEOUT_S + 1))
    assert [m.WhichOneof("event") for m in messages] == ["progress"] * 3 + ["result"]
    assert [progress_of(m.progress).data for m in messages[:3]] == [{"step": step, "of": 3} for step in (1, 2, 3)]
    receipt = receipt_of(messages[-1].result)
    assert receipt.value == {"steps": 3}
    assert receipt.envelope_hash == envelope_hash(envelope)


def test_a_callback_that_raises_ends_the_call_not_the_connection(consumer: Client) -> None:
    def listener(_: Progress) -> None:
        raise RuntimeError("listener bug")

    with pytest.raises(Mcp0Error, match="listener bug") as e:
        consumer.call("progress", "steps", {"n": 10}, timeout_s=TIMEOUT_S, on_progress=listener)
    assert e.value.code == "EINTERNAL", e.value
    # The cancelled stream cost the connection nothing: the next call on it streams.
    events: list[Progress] = []
    assert consumer.call("progress", "steps", {"n": 3}, timeout_s=TIMEOUT_S, on_progress=events.append).value == {"steps": 3}
    assert [p.data for p in events] == [{"step": step, "of": 3} for step in (1, 2, 3)]
