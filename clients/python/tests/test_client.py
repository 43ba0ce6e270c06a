"""The client against an in-process stand-in for a node (fake_node.py): signed calls, deadlines,
decoded answers, errors rebuilt from trailers, and what it refuses before sending anything."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from nacl.signing import SigningKey

from mcp0 import DEADLINE_SLACK_S, Client, Mcp0Error, Progress, cbor, is_loopback, key_id, sign_envelope
from mcp0.envelope import now_ms
from mcp0.generated import node_pb2

from .conftest import REPO
from .fake_node import FakeNode, serving


@pytest.fixture
def operator() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def node(operator: SigningKey) -> Iterator[tuple[str, FakeNode]]:
    fake = FakeNode(key_id(operator))
    with serving(fake) as address:
        yield address, fake


def test_executes_signed_calls_and_decodes_the_answers(node: tuple[str, FakeNode], operator: SigningKey) -> None:
    address, fake = node
    with Client.connect(address, SigningKey.generate(), insecure=True, timeout_s=10) as client:
        counter = client.agents.get("counter")
        assert counter.execute("increment") == {"value": 1}
        assert counter.execute("increment", {"by": 5}, timeout_s=3) == {"value": 6}
        receipt = client.call("counter", "increment", {"by": 1})
        assert receipt.value == {"value": 7}
        assert receipt.trace is not None and (receipt.trace.seq, receipt.trace.head) == (7, "123456789")
        assert len(receipt.envelope_hash) == 32
        info = client.call("", "mcp0.v1.Node/Info")
        assert info.value == {"abi": "1.1.0"} and info.trace is None
        assert client.info() == {"abi": "1.1.0"}
    assert fake.calls[:2] == [("increment", {}), ("increment", {"by": 5})]


def test_node_methods_answer_operators_and_refuse_others(node: tuple[str, FakeNode], operator: SigningKey) -> None:
    address, _ = node
    with Client.connect(address, operator, insecure=True) as client:
        assert client.agents.list() == [{"id": "a1", "name": "counter", "state": "running"}]
    with Client.connect(address, SigningKey.generate(), insecure=True) as stranger:
        with pytest.raises(Mcp0Error) as e:
            stranger.agents.list()
        assert e.value.code == "EPERM" and e.value.status == grpc.StatusCode.PERMISSION_DENIED.value[0]


def test_errors_are_rebuilt_from_the_trailers(node: tuple[str, FakeNode]) -> None:
    address, _ = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        with pytest.raises(Mcp0Error) as e:
            client.agents.get("wallet").execute("pay", {"to": "me"})
        assert (e.value.code, e.value.message) == ("ENOTFOUND", "no agent wallet")
        with pytest.raises(Mcp0Error) as e:
            client.agents.get("counter").execute("slow")
        assert (e.value.code, e.value.retry_after_ms) == ("EDENIED", 1500)
        # A malformed answer is the node's fault, refused like any hostile input.
        with pytest.raises(Mcp0Error, match="CBOR") as e:
            client.trace.head()
        assert e.value.code == "EINPUT"


def test_the_slack_is_the_typescript_clients() -> None:
    # One figure for every client of a node: sdk/src/rpc/deadline.ts's, read from the source.
    source = (REPO / "sdk" / "src" / "rpc" / "deadline.ts").read_text(encoding="utf-8")
    found = re.search(r"export const DEADLINE_SLACK_MS = ([0-9_]+);", source)
    assert found is not None, "sdk/src/rpc/deadline.ts no longer exports DEADLINE_SLACK_MS = <number>"
    assert DEADLINE_SLACK_S * 1000 == int(found.group(1).replace("_", ""))


def test_the_grpc_deadline_is_the_envelopes_plus_the_slack(node: tuple[str, FakeNode], operator: SigningKey) -> None:
    # sdk/src/rpc/deadline.ts: the node answers at the envelope's deadline, so the client's own
    # deadline must come later, or it resets the stream. The gap is read on one clock by the fake;
    # the margins only absorb the loopback's transit and rounding, far from 0 s and from 2 s.
    address, fake = node
    with Client.connect(address, operator, insecure=True, timeout_s=10) as client:
        client.agents.get("counter").execute("increment", timeout_s=2)
        client.call("counter", "get")
        client.agents.list()
        client.call("progress", "steps", {"n": 1}, timeout_s=3, on_progress=lambda _: None)
    assert len(fake.deadline_gaps_ms) == 4
    slack_ms = DEADLINE_SLACK_S * 1000
    for gap in fake.deadline_gaps_ms:
        assert slack_ms - 500 < gap < slack_ms + 500, fake.deadline_gaps_ms


def test_the_node_ends_a_call_at_its_deadline(node: tuple[str, FakeNode]) -> None:
    # The fake answers ETIMEOUT (with its trailer) at the envelope's deadline; given the slack, that
    # answer reaches the client rather than its own gRPC deadline's bare DEADLINE_EXCEEDED.
    address, _ = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        with pytest.raises(Mcp0Error) as e:
            client.agents.get("counter").execute("late", timeout_s=0.2)
    assert (e.value.code, e.value.message) == ("ETIMEOUT", "counter/late: the deadline passed")
    assert e.value.status == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]


def test_streams_the_progress_in_order_then_the_result(node: tuple[str, FakeNode]) -> None:
    address, fake = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        events: list[Progress] = []
        receipt = client.call("progress", "steps", {"n": 5}, on_progress=events.append)
        assert events == [Progress("progress", {"step": step, "of": 5}) for step in range(1, 6)]
        assert receipt.value == {"steps": 5}
        assert receipt.trace is not None and (receipt.trace.seq, receipt.trace.head) == (5, "123456789")
        assert len(receipt.envelope_hash) == 32
        # The agent handle streams too.
        seen: list[object] = []
        assert client.agents.get("progress").execute("steps", {"n": 2}, on_progress=lambda p: seen.append(p.data)) == {"steps": 2}
        assert seen == [{"step": 1, "of": 2}, {"step": 2, "of": 2}]
        # An event without data has None; one of no kind this client knows is passed over.
        bare: list[Progress] = []
        assert client.call("progress", "bare", on_progress=bare.append).value is None
        assert bare == [Progress("ping", None)]
        # Without on_progress the call is unary (the fake's Execute knows no agent progress)...
        with pytest.raises(Mcp0Error, match="no agent progress"):
            client.call("progress", "steps", {"n": 1})
        # ...and the node's own methods have no progress: the call is theirs, unary.
        called: list[Progress] = []
        assert client.call("", "mcp0.v1.Node/Info", on_progress=called.append).value == {"abi": "1.1.0"}
        assert called == []
        with pytest.raises(Mcp0Error, match="on_progress expected a callable") as e:
            client.call("progress", "steps", {"n": 1}, on_progress="print")  # type: ignore[arg-type] - not callable
        assert e.value.code == "EUSAGE"
    assert [method for method, _ in fake.calls] == ["steps", "steps", "bare", "steps", "mcp0.v1.Node/Info"]


GOOD_EVENT = cbor.encode({"topic": "progress", "data": {"step": 1}})


@pytest.mark.parametrize(
    "malformed",
    [
        b"\xff",  # not CBOR
        b"",  # nothing
        cbor.encode("progress"),  # not a map
        cbor.encode([{"topic": "progress"}]),
        cbor.encode({"data": 1}),  # no topic
        cbor.encode({"topic": 1, "data": 1}),  # a topic that is not text
        cbor.encode({"topic": b"progress"}),
        b"\xa2\x01\x02\x65topic\x61x",  # a key that is not text
        GOOD_EVENT + b"\x00",  # trailing bytes
    ],
)
def test_a_malformed_progress_event_fails_the_call_and_cancels_it(node: tuple[str, FakeNode], malformed: bytes) -> None:
    # A broken or hostile node's event: EINPUT, and the stream the fake holds open is cancelled.
    # (Checked before the client closes: closing a channel cancels what is left on it.)
    address, fake = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        events: list[Progress] = []
        with pytest.raises(Mcp0Error) as e:
            client.call("progress", "hang", {"events": [GOOD_EVENT, malformed]}, timeout_s=60, on_progress=events.append)
        assert e.value.code == "EINPUT", e.value
        assert events == [Progress("progress", {"step": 1})]
        assert fake.cancelled.wait(10), "the client did not cancel the stream"


def test_a_stream_without_a_result_is_einternal(node: tuple[str, FakeNode]) -> None:
    address, _ = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        events: list[Progress] = []
        with pytest.raises(Mcp0Error, match="progress/noresult: the stream ended without a result") as e:
            client.call("progress", "noresult", on_progress=events.append)
    assert e.value.code == "EINTERNAL"
    assert events == [Progress("progress", {"step": 1, "of": 2})]


def test_a_callback_that_raises_cancels_the_call(node: tuple[str, FakeNode]) -> None:
    # As the TypeScript client's onProgress: EINTERNAL naming the error, and the node is told.
    address, fake = node

    def listener(_: Progress) -> None:
        raise ValueError("listener bug")

    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        with pytest.raises(Mcp0Error, match="progress/hang: on_progress raised ValueError: listener bug") as e:
            client.agents.get("progress").execute("hang", {"events": [GOOD_EVENT]}, timeout_s=60, on_progress=listener)
        assert e.value.code == "EINTERNAL"
        assert isinstance(e.value.__cause__, ValueError)
        assert fake.cancelled.wait(10), "the client did not cancel the stream"


def test_a_callbacks_own_mcp0_error_passes_as_it_is(node: tuple[str, FakeNode]) -> None:
    address, fake = node
    refusal = Mcp0Error("EDENIED", "the caller's budget is spent")

    def listener(_: Progress) -> None:
        raise refusal

    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        with pytest.raises(Mcp0Error) as e:
            client.call("progress", "hang", {"events": [GOOD_EVENT]}, timeout_s=60, on_progress=listener)
        assert e.value is refusal
        assert fake.cancelled.wait(10), "the client did not cancel the stream"


def test_a_stream_that_fails_is_rebuilt_from_the_trailers(node: tuple[str, FakeNode]) -> None:
    address, _ = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        events: list[Progress] = []
        with pytest.raises(Mcp0Error) as e:
            client.call("progress", "fail", on_progress=events.append)
        assert (e.value.code, e.value.message, e.value.retry_after_ms) == ("EDENIED", "quota: wait", 1500)
        assert e.value.status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
        assert events == [Progress("progress", {"step": 1, "of": 2})]
        with pytest.raises(Mcp0Error) as e:
            client.call("nobody", "steps", on_progress=events.append)
        assert (e.value.code, e.value.message) == ("ENOTFOUND", "no agent nobody")


def test_a_replayed_call_is_refused(node: tuple[str, FakeNode]) -> None:
    # What test_live.py does against a real node, here against the fake's nonce check.
    address, _ = node
    key = SigningKey.generate()
    with Client.connect(address, key, insecure=True) as client:
        payload = cbor.encode({})
        call = node_pb2.Call(envelope=sign_envelope(key, "counter", "increment", payload, now_ms() + 10_000), payload=payload)
        client.stub.Execute(call, timeout=10)
        with pytest.raises(grpc.RpcError) as e:
            client.stub.Execute(call, timeout=10)
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_refuses_what_it_cannot_sign_or_send(node: tuple[str, FakeNode]) -> None:
    address, _ = node
    with Client.connect(address, SigningKey.generate(), insecure=True) as client:
        for method in ("mcp0.v1.Node/Nope", "ListAgents", "mcp0.v1.Node/Execute", "other.Service/Info"):
            with pytest.raises(Mcp0Error, match="has no method") as e:
                client.call("", method)
            assert e.value.code == "EUSAGE"
        with pytest.raises(Mcp0Error, match="map keys must be text"):
            client.agents.get("counter").execute("increment", {1: 2})
        with pytest.raises(Mcp0Error, match="timeout_s"):
            client.call("counter", "increment", timeout_s=0)


def test_connect_refuses_plaintext_off_loopback_and_gives_up_on_a_silent_address() -> None:
    key = SigningKey.generate()
    with pytest.raises(Mcp0Error, match="plaintext is for a loopback address only") as e:
        Client.connect("10.0.0.1:7040", key, insecure=True)
    assert e.value.code == "EUSAGE"
    with pytest.raises(Mcp0Error, match="ca expected PEM bytes"):
        Client.connect("127.0.0.1:1", key, ca="ca.crt")  # type: ignore[arg-type] - a path is not the PEM
    with pytest.raises(Mcp0Error, match="mutual TLS needs both"):
        Client.connect("127.0.0.1:1", key, cert=b"pem")
    with pytest.raises(Mcp0Error, match="SigningKey"):
        Client.connect("127.0.0.1:1", b"seed", insecure=True)  # type: ignore[arg-type] - a raw seed is refused
    # Nothing listens on a port just released: connect gives up at its timeout with EUSAGE.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.stop(None)
    with pytest.raises(Mcp0Error, match="did not answer within") as e:
        Client.connect(f"127.0.0.1:{port}", key, insecure=True, timeout_s=0.5)
    assert e.value.code == "EUNAVAILABLE"


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:7040", True),
        ("127.8.9.10:1", True),
        ("localhost:7040", True),
        ("[::1]:7040", True),
        ("::1", False),  # a bare v6 address has no port to split off: as isLoopback reads it
        ("10.0.0.1:7040", False),
        ("128.0.0.1:7040", False),
        ("127.example.com:7040", False),
        ("localhost.example:1", False),
        ("[::2]:7040", False),
        ("dns:///localhost:7040", False),
    ],
)
def test_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback
