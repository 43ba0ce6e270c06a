"""A stand-in for a node's gRPC transport, for the client's tests: it checks what the node checks of
each call (a valid envelope over the payload, a gRPC deadline near the envelope's, a nonce not
seen before, the caller's authority) and answers as the node does (sdk/src/rpc/server.ts): CBOR
results with the trace head, errors with `mcp0-code` trailers, ETIMEOUT at the envelope's deadline,
and over ExecuteStream progress events then the result (or, on request, what a broken node sends).
It records how much later than the envelope's deadline each call's gRPC deadline is
(`deadline_gaps_ms`), which the client sets DEADLINE_SLACK_S later. The real node is test_live.py's."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc

from mcp0 import Mcp0Error, cbor, envelope_hash, verify_envelope
from mcp0.envelope import now_ms
from mcp0.generated import node_pb2, node_pb2_grpc


class FakeNode(node_pb2_grpc.NodeServicer):
    """Agent `counter` (`increment`, `get`, `late`) for `consumer` (anyone when None); over
    ExecuteStream, agent `progress` (`steps` and the broken answers of `ExecuteStream`); ListAgents
    for `operator` only; Info and TraceHead for all."""

    def __init__(self, operator: str, consumer: str | None = None) -> None:
        self.operator = operator
        self.consumer = consumer
        self.count = 0
        self.seen: set[bytes] = set()
        self.calls: list[tuple[str, Any]] = []
        #: Per call, in order: its gRPC deadline minus its envelope's deadline, ms (as read here).
        self.deadline_gaps_ms: list[float] = []
        #: Set when a stream the fake held open saw its client cancel it.
        self.cancelled = threading.Event()
        self.lock = threading.Lock()

    def _check(self, request: node_pb2.Call, context: grpc.ServicerContext, target: str | None, method: str | None) -> Any:
        """The envelope and the decoded payload when the call holds (target None: any agent)."""
        try:
            e = verify_envelope(request.envelope, request.payload)
        except Mcp0Error as err:
            self._fail(context, err.code, err.message, grpc.StatusCode.UNAUTHENTICATED)
        remaining = context.time_remaining()
        if remaining is None or abs((now_ms() + remaining * 1000) - e.deadline) > 5_000:
            self._fail(context, "EUSAGE", f"deadline {remaining} does not match the envelope's", grpc.StatusCode.INVALID_ARGUMENT)
        self.deadline_gaps_ms.append(now_ms() + remaining * 1000 - e.deadline)
        with self.lock:
            if e.nonce in self.seen:
                self._fail(context, "EPERM", "replay", grpc.StatusCode.PERMISSION_DENIED)
            self.seen.add(e.nonce)
        if (target is None and e.target == "") or (target is not None and e.target != target) or (method is not None and e.method != method):
            self._fail(context, "EPERM", f"envelope for {e.target}/{e.method}", grpc.StatusCode.PERMISSION_DENIED)
        value = cbor.decode(request.payload)
        self.calls.append((e.method, value))
        return e, value

    @staticmethod
    def _fail(context: grpc.ServicerContext, code: str, message: str, status: grpc.StatusCode, retry: int | None = None) -> None:
        trailers = [("mcp0-code", code)] + ([("mcp0-retry-after-ms", str(retry))] if retry is not None else [])
        context.set_trailing_metadata(trailers)
        context.abort(status, message)

    @staticmethod
    def _result(request: node_pb2.Call, value: Any, seq: int | None = None) -> node_pb2.Result:
        trace = node_pb2.TraceHead(head="0") if seq is None else node_pb2.TraceHead(seq=seq, head="123456789")
        return node_pb2.Result(payload=cbor.encode(value), trace=trace, envelope_hash=envelope_hash(request.envelope))

    def Execute(self, request: node_pb2.Call, context: grpc.ServicerContext) -> node_pb2.Result:
        e, value = self._check(request, context, None, None)
        if e.target != "counter":
            self._fail(context, "ENOTFOUND", f"no agent {e.target}", grpc.StatusCode.NOT_FOUND)
        if self.consumer is not None and e.caller != self.consumer:
            self._fail(context, "EPERM", f"{e.caller} is not the consumer of counter", grpc.StatusCode.PERMISSION_DENIED)
        if e.method == "slow":
            self._fail(context, "EDENIED", "rate: wait", grpc.StatusCode.RESOURCE_EXHAUSTED, retry=1500)
        if e.method == "late":
            # As the node does: the call ends at the envelope's deadline, answered, not reset.
            time.sleep(max(0.0, (e.deadline - now_ms()) / 1000))
            self._fail(context, "ETIMEOUT", "counter/late: the deadline passed", grpc.StatusCode.DEADLINE_EXCEEDED)
        if e.method == "get":
            return self._result(request, {"value": self.count}, seq=self.count)
        if e.method != "increment":
            self._fail(context, "ENOTFOUND", f"no intent {e.method}", grpc.StatusCode.NOT_FOUND)
        with self.lock:
            self.count += value.get("by", 1)
            return self._result(request, {"value": self.count}, seq=self.count)

    def ListAgents(self, request: node_pb2.Call, context: grpc.ServicerContext) -> node_pb2.Result:
        e, _ = self._check(request, context, "", "mcp0.v1.Node/ListAgents")
        if e.caller != self.operator:
            self._fail(context, "EPERM", f"{e.caller} is not an operator", grpc.StatusCode.PERMISSION_DENIED)
        return self._result(request, [{"id": "a1", "name": "counter", "state": "running"}])

    def Info(self, request: node_pb2.Call, context: grpc.ServicerContext) -> node_pb2.Result:
        self._check(request, context, "", "mcp0.v1.Node/Info")
        return node_pb2.Result(payload=cbor.encode({"abi": "1.1.0"}), envelope_hash=envelope_hash(request.envelope))

    def TraceHead(self, request: node_pb2.Call, context: grpc.ServicerContext) -> node_pb2.Result:
        self._check(request, context, "", "mcp0.v1.Node/TraceHead")
        return node_pb2.Result(payload=b"\xff", envelope_hash=envelope_hash(request.envelope))

    def ExecuteStream(self, request: node_pb2.Call, context: grpc.ServicerContext) -> Iterator[node_pb2.Progress]:
        """Agent `progress`: `steps` {n} sends {topic: "progress", data: {step, of: n}} n times, then
        the result {steps: n}, as sdk/test/fixtures/progress does on the real node. What a broken or
        newer node may send: `bare` an event without data after one of no kind a newer node might
        add; `hang` {events: [bytes]} sends each as a progress event's raw bytes, then holds the
        stream open until the client cancels it (`cancelled` is set then: a call
        ended by its client before its deadline); `noresult` ends the stream
        after one event without a result; `fail` fails after one event."""
        e, value = self._check(request, context, None, None)
        if e.target != "progress":
            self._fail(context, "ENOTFOUND", f"no agent {e.target}", grpc.StatusCode.NOT_FOUND)
        if self.consumer is not None and e.caller != self.consumer:
            self._fail(context, "EPERM", f"{e.caller} is not the consumer of progress", grpc.StatusCode.PERMISSION_DENIED)

        def event(topic: str, data: Any) -> node_pb2.Progress:
            return node_pb2.Progress(progress=cbor.encode({"topic": topic, "data": data}))

        if e.method == "steps":
            n = value["n"]
            for step in range(1, n + 1):
                yield event("progress", {"step": step, "of": n})
            yield node_pb2.Progress(result=self._result(request, {"steps": n}, seq=n))
        elif e.method == "bare":
            yield node_pb2.Progress()
            yield node_pb2.Progress(progress=cbor.encode({"topic": "ping"}))
            yield node_pb2.Progress(result=self._result(request, None))
        elif e.method == "hang":
            # A client may cancel while gRPC still sends the last event, and then this generator
            # is never resumed: the call's end is what tells, unless the fake itself ended it.
            ended = threading.Event()
            context.add_callback(lambda: None if ended.is_set() or (context.time_remaining() or 0) <= 0 else self.cancelled.set())
            for raw in value["events"]:
                yield node_pb2.Progress(progress=raw)
            until = time.monotonic() + 30
            while context.is_active() and time.monotonic() < until:
                time.sleep(0.01)
            ended.set()
        elif e.method == "noresult":
            yield event("progress", {"step": 1, "of": 2})
        elif e.method == "fail":
            yield event("progress", {"step": 1, "of": 2})
            self._fail(context, "EDENIED", "quota: wait", grpc.StatusCode.RESOURCE_EXHAUSTED, retry=1500)
        else:
            self._fail(context, "ENOTFOUND", f"no intent {e.method}", grpc.StatusCode.NOT_FOUND)


@contextlib.contextmanager
def serving(fake: FakeNode) -> Iterator[str]:
    """Serves ``fake`` on a free loopback port while the block runs; yields its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    node_pb2_grpc.add_NodeServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)
