"""A node's Python client over gRPC, shaped like the TypeScript one (sdk/src/rpc/client.ts):
``client.agents.get("notes").execute("remember", {...})``. Each call is signed with the caller's key
(an envelope, abi/ROLES.md ``mcp0.rpc@1``), carries a gRPC deadline ``DEADLINE_SLACK_S`` later than
the envelope's (so the node, which answers by the envelope's deadline, ends the call, not this
client), and fails with the typed error the node answered (errors.py).

An agent's intent called with ``on_progress`` goes over ``ExecuteStream``: each ``emit`` the agent
makes while it runs reaches the callback as a ``Progress(topic, data)``, then the result ends the
call.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from nacl.signing import SigningKey

from . import cbor
from .envelope import now_ms, sign_envelope
from .errors import Mcp0Error, error_from_rpc
from .generated import node_pb2, node_pb2_grpc

#: The service's full name: the node's own methods are ``f"{NODE_SERVICE}/<Name>"``.
NODE_SERVICE = "mcp0.v1.Node"
#: The largest message either way: the kernel's 4 MiB input and output cap, plus framing.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024 + 64 * 1024
#: How much later than its envelope's deadline a call's gRPC deadline is, in seconds: the figure of
#: the TypeScript client (sdk/src/rpc/deadline.ts ``DEADLINE_SLACK_MS``), for the same reason. The
#: node ends a call at the envelope's deadline and answers DEADLINE_EXCEEDED itself (with the
#: ``mcp0-code`` trailer); were this client's gRPC deadline first, gRPC would reset the stream
#: instead (an HTTP/2 RST_STREAM), and a server whose peer resets streams fast closes the whole
#: connection (nghttp2's rapid-reset guard), failing every other call on it. Given the slack, the
#: node's answer ends the call cleanly; the gRPC deadline only gives up on a node that does not
#: answer at all.
DEADLINE_SLACK_S = 1.0
#: The node's own unary methods (node.proto).
NODE_METHODS = frozenset(
    {"Spawn", "ListAgents", "Snapshot", "Recover", "Pause", "Resume", "Terminate", "TraceHead", "TraceEntries", "Checkpoint", "TraceProof", "Metrics", "Info"}
)

_NO_INPUT: Any = object()


@dataclass(frozen=True)
class TraceHead:
    """The node's trace head after a call: the last entry's seq (None when the trace is empty) and
    the chain head, a decimal field element ("0" when empty)."""

    seq: int | None
    head: str


@dataclass(frozen=True)
class Receipt:
    """What a call answered: its value, the node's trace head after it (None when the node has no
    trace), and the SHA-256 of the envelope that asked for it (what names the call in the node's
    logs).

    Example::

        receipt = client.call("notes", "recall", {"query": "milk"})
        print(receipt.value, receipt.trace)
    """

    value: Any
    trace: TraceHead | None
    envelope_hash: bytes


@dataclass(frozen=True)
class Progress:
    """One progress event of a streamed call: an ``emit`` the agent made while it ran, its topic and
    its data (any CBOR value; None when the event had none).

    Example::

        client.call("builder", "build", {}, on_progress=lambda p: print(p.topic, p.data))
    """

    topic: str
    data: Any


def progress_of(data: bytes) -> Progress:
    """A progress event's CBOR, checked to be the ``{topic: text, data}`` map a node sends (EINPUT
    otherwise: a malformed event is a hostile or broken node's, refused like a malformed answer).

    Example::

        progress_of(cbor.encode({"topic": "progress", "data": {"step": 1}}))  # Progress('progress', {'step': 1})
    """
    value = cbor.decode(data)
    if not isinstance(value, dict) or not isinstance(value.get("topic"), str):
        raise Mcp0Error("EINPUT", "a progress event: expected a CBOR map {topic: text, data}")
    return Progress(topic=value["topic"], data=value.get("data"))


def is_loopback(address: str) -> bool:
    """True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost
    (sdk/src/rpc/tls.ts ``isLoopback``).

    Example::

        is_loopback("127.0.0.1:7040")  # True
    """
    v6 = re.fullmatch(r"\[([^\]]+)\](?::\d+)?", address)
    if v6:
        host = v6.group(1)
    else:
        i = address.rfind(":")
        host = address if i < 0 else address[:i]
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if ip.version == 4:
        return host.startswith("127.")
    return host == "::1"


class RemoteAgent:
    """An agent on a remote node, by name (or id); nothing is asked of the node until it is called.

    Example::

        notes = client.agents.get("notes")
        notes.execute("remember", {"text": "buy milk"})
    """

    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    def execute(
        self,
        intent: str,
        input_value: Any = _NO_INPUT,
        timeout_s: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Any:
        """Runs ``intent`` with ``input_value`` (CBOR-encodable; ``{}`` when not given) and answers
        its output; with ``on_progress``, over the stream that passes on the agent's progress
        (``Client.call`` says how).

        Example::

            builder.execute("build", {"target": "all"}, on_progress=lambda p: print(p.data))
        """
        value = {} if input_value is _NO_INPUT else input_value
        return self._client.call(self.name, intent, value, timeout_s=timeout_s, on_progress=on_progress).value

    def snapshot(self) -> Any:
        """{id, at} of a new snapshot of the agent."""
        return self._client._node("Snapshot", {"agent": self.name})

    def pause(self) -> Any:
        return self._client._node("Pause", {"agent": self.name})

    def resume(self) -> Any:
        return self._client._node("Resume", {"agent": self.name})

    def terminate(self) -> None:
        self._client._node("Terminate", {"agent": self.name})


class Agents:
    """The node's agents (``client.agents``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def get(self, name: str) -> RemoteAgent:
        """An agent by name (or id)."""
        return RemoteAgent(self._client, name)

    def list(self) -> Any:
        """[agent]; agent = {id, name, state, module: {name, version}, agreement, snapshots}.
        Operator keys only."""
        return self._client._node("ListAgents")

    def spawn(
        self,
        module: bytes,
        name: str,
        grants: list[str] | None = None,
        config: Any = None,
        agreement: str | None = None,
    ) -> Any:
        """Spawns a signed agent module as ``name``; answers the agent. Operator keys only."""
        request: dict[str, Any] = {"module": bytes(module), "name": name}
        if grants is not None:
            request["grants"] = list(grants)
        if config is not None:
            request["config"] = config
        if agreement is not None:
            request["agreement"] = agreement
        return self._client._node("Spawn", request)


class Trace:
    """The node's trace (``client.trace``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def head(self) -> Any:
        """{seq, head}."""
        return self._client._node("TraceHead")

    def entries(self, from_seq: int, to_seq: int) -> Any:
        """The entries from ``from_seq`` to ``to_seq`` (at most 1,000)."""
        return self._client._node("TraceEntries", {"from": from_seq, "to": to_seq})

    def checkpoint(self) -> Any:
        """The newest signed checkpoint, or None."""
        return self._client._node("Checkpoint")

    #: The deadline of ``prove`` unless it says otherwise, seconds: proving takes seconds of every
    #: core of the node, more on a busy one.
    PROVE_TIMEOUT_S = 120

    def prove(
        self,
        from_seq: int,
        to_seq: int,
        cost_limit: int | None = None,
        agreement: str | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """A Groth16 proof of entries ``from_seq`` to ``to_seq`` (at most 32), made by the node
        (``TraceProof``, operator keys): ``{proof, publicSignals, from, to, batchSize}``, the file
        ``mcp0 trace verify`` reads. Under ``cost_limit`` (an int from 0 to 2^64 - 1), else
        ``agreement``'s quota, else that of the agreement the entries ran under. The deadline is
        ``timeout_s`` (default ``PROVE_TIMEOUT_S``). Bind the proof to the chain (a signed
        checkpoint, or the entries) before trusting it.

        Example::

            proof = client.trace.prove(0, 3, cost_limit=10_000)
            Path("proof.json").write_text(json.dumps(proof))  # mcp0 trace verify proof.json --checkpoint cp.json --trust op.jwk
        """
        request: dict[str, Any] = {"from": from_seq, "to": to_seq}
        if cost_limit is not None:
            if isinstance(cost_limit, bool) or not isinstance(cost_limit, int):
                raise Mcp0Error("EUSAGE", f"prove: cost_limit expected an int, got {type(cost_limit).__name__}")
            request["costLimit"] = str(cost_limit)
        if agreement is not None:
            request["agreement"] = agreement
        timeout = self.PROVE_TIMEOUT_S if timeout_s is None else timeout_s
        return self._client.call("", f"{NODE_SERVICE}/TraceProof", request, timeout_s=timeout).value


class Client:
    """A connection to a node.

    Example::

        client = Client.connect("node.example:7040", load_key("me.jwk"), ca=Path("ca.crt").read_bytes())
        client.agents.get("notes").execute("remember", {"text": "buy milk"})
        client.close()
    """

    def __init__(self, channel: grpc.Channel, key: SigningKey, timeout_s: float) -> None:
        self._channel = channel
        self._key = key
        self._timeout_s = timeout_s
        #: The generated stub, for callers who build and send Calls themselves.
        self.stub = node_pb2_grpc.NodeStub(channel)
        self.agents = Agents(self)
        self.trace = Trace(self)

    @classmethod
    def connect(
        cls,
        address: str,
        key: SigningKey,
        ca: bytes | None = None,
        cert: bytes | None = None,
        cert_key: bytes | None = None,
        insecure: bool = False,
        timeout_s: float = 10,
    ) -> Client:
        """Connects to ``address`` (``host:port``) and waits until the channel is ready or
        ``timeout_s`` passes (EUSAGE). TLS trusting ``ca`` (PEM; the system's roots when None), with
        ``cert`` and ``cert_key`` (PEM) for mutual TLS; plaintext only when ``insecure``, and only
        to a loopback address. ``timeout_s`` is also each call's deadline unless it says otherwise.

        Example::

            client = Client.connect("127.0.0.1:7040", load_key("me.jwk"), insecure=True)
        """
        if not isinstance(key, SigningKey):
            raise Mcp0Error("EUSAGE", f"connect: the key must be a nacl.signing.SigningKey (load_key reads one), got {type(key).__name__}")
        if not (isinstance(timeout_s, (int, float)) and not isinstance(timeout_s, bool) and timeout_s > 0):
            raise Mcp0Error("EUSAGE", f"connect: timeout_s expected a positive number of seconds, got {timeout_s!r}")
        for name, pem in (("ca", ca), ("cert", cert), ("cert_key", cert_key)):
            if pem is not None and not isinstance(pem, bytes):
                raise Mcp0Error("EUSAGE", f"connect: {name} expected PEM bytes (Path(...).read_bytes()), got {type(pem).__name__}", {"member": name})
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", MAX_MESSAGE_BYTES)]
        if insecure:
            if not is_loopback(address):
                raise Mcp0Error("EUSAGE", f"connect: plaintext is for a loopback address only, got {address}", {"address": address})
            if ca is not None or cert is not None or cert_key is not None:
                raise Mcp0Error("EUSAGE", "connect: give TLS files or insecure, not both", {"address": address})
            channel = grpc.insecure_channel(address, options=options)
        else:
            if (cert is None) != (cert_key is None):
                raise Mcp0Error("EUSAGE", "connect: mutual TLS needs both cert and cert_key", {"address": address})
            credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=cert_key, certificate_chain=cert)
            channel = grpc.secure_channel(address, credentials, options=options)
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout_s)
        except grpc.FutureTimeoutError as e:
            channel.close()
            raise Mcp0Error("EUNAVAILABLE", f"connect {address}: the node did not answer within {timeout_s} s", {"address": address}) from e
        except BaseException:
            channel.close()
            raise
        return cls(channel, key, timeout_s)

    def call(
        self,
        target: str,
        method: str,
        value: Any = _NO_INPUT,
        timeout_s: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> Receipt:
        """Calls ``method`` of ``target`` (an agent's intent; ``""`` and ``mcp0.v1.Node/<Name>`` for
        the node itself) with ``value`` (``{}`` when not given), signed, before the deadline.

        ``timeout_s`` (default: the connection's) is the envelope's deadline, by which the node
        answers (ETIMEOUT once it passes); the gRPC deadline is ``DEADLINE_SLACK_S`` later and only
        gives up on a node that does not answer at all.

        With ``on_progress``, an agent's intent streams (``ExecuteStream``): the callback gets each
        ``Progress`` the agent emits while it runs, in order, on this thread, before the call
        answers; a node may drop progress a slow reader cannot take. A malformed event (EINPUT), or
        a callback that raises (EINTERNAL naming its error; an ``Mcp0Error`` it raises passes as
        is), cancels the call and is what it raises; a stream that ends without a result is
        EINTERNAL. The node's own methods have no progress: for them ``on_progress`` is not called.

        Example::

            receipt = client.call("", "mcp0.v1.Node/Info")
            receipt = client.call("builder", "build", {}, timeout_s=60, on_progress=lambda p: print(p.topic, p.data))
        """
        if target == "":
            rpc = method[len(NODE_SERVICE) + 1 :] if method.startswith(f"{NODE_SERVICE}/") else ""
            if rpc not in NODE_METHODS:
                raise Mcp0Error("EUSAGE", f"{NODE_SERVICE} has no method {method!r} (the node's own methods are {NODE_SERVICE}/<Name>)", {"method": method})
        else:
            rpc = "Execute"
        timeout = self._timeout_s if timeout_s is None else timeout_s
        if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0):
            raise Mcp0Error("EUSAGE", f"call: timeout_s expected a positive number of seconds, got {timeout!r}")
        if on_progress is not None and not callable(on_progress):
            raise Mcp0Error("EUSAGE", f"call: on_progress expected a callable taking a Progress, got {type(on_progress).__name__}")
        payload = cbor.encode({} if value is _NO_INPUT else value)
        envelope = sign_envelope(self._key, target, method, payload, now_ms() + round(timeout * 1000))
        call = node_pb2.Call(envelope=envelope, payload=payload)
        if on_progress is not None and target != "":
            return self._stream(call, f"{target}/{method}", timeout + DEADLINE_SLACK_S, on_progress)
        try:
            result = getattr(self.stub, rpc)(call, timeout=timeout + DEADLINE_SLACK_S)
        except grpc.RpcError as e:
            raise error_from_rpc(e) from e
        return receipt_of(result)

    def _stream(self, call: node_pb2.Call, name: str, timeout: float, on_progress: Callable[[Progress], None]) -> Receipt:
        """``call`` over ExecuteStream: its progress to ``on_progress``, then its result."""
        stream = self.stub.ExecuteStream(call, timeout=timeout)
        result: node_pb2.Result | None = None
        try:
            for message in stream:
                event = message.WhichOneof("event")
                if event == "result":
                    result = message.result
                elif event == "progress":
                    progress = progress_of(message.progress)
                    try:
                        on_progress(progress)
                    except Mcp0Error:
                        raise
                    except Exception as e:
                        raise Mcp0Error("EINTERNAL", f"{name}: on_progress raised {type(e).__name__}: {e}", {"error": type(e).__name__}) from e
                # Any other event is one a newer node added: passed over, as unknown fields are.
        except grpc.RpcError as e:
            raise error_from_rpc(e) from e
        except BaseException:
            # A malformed event, a callback that raised (KeyboardInterrupt too): the node abandons
            # the call, rather than running it to its deadline for a reader that has gone.
            stream.cancel()
            raise
        if result is None:
            raise Mcp0Error("EINTERNAL", f"{name}: the stream ended without a result")
        return receipt_of(result)

    def _node(self, name: str, value: Any = _NO_INPUT) -> Any:
        """One of the node's own methods."""
        return self.call("", f"{NODE_SERVICE}/{name}", value).value

    def info(self) -> Any:
        """{distribution: {name, version}, roles: [text], abi: text}."""
        return self._node("Info")

    def metrics(self) -> Any:
        """The node's metrics."""
        return self._node("Metrics")

    def close(self) -> None:
        """Closes the connection."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def receipt_of(result: node_pb2.Result) -> Receipt:
    """A Result message as a Receipt, its CBOR payload decoded strictly (EINPUT when malformed).

    Example::

        receipt = receipt_of(client.stub.Execute(call, timeout=5))
    """
    trace = None
    if result.HasField("trace"):
        trace = TraceHead(seq=result.trace.seq if result.trace.HasField("seq") else None, head=result.trace.head)
    return Receipt(value=cbor.decode(result.payload), trace=trace, envelope_hash=bytes(result.envelope_hash))
