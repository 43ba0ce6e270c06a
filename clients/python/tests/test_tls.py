"""The client over TLS and mutual TLS, against an in-process server holding the test-only
certificates of tests/tls (make.sh there makes them): the node's CA is trusted, a client
certificate is presented when asked for, and a connection the server refuses never gets ready."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from nacl.signing import SigningKey

from mcp0 import Client, Mcp0Error, key_id
from mcp0.generated import node_pb2_grpc

from .fake_node import FakeNode

TLS = Path(__file__).resolve().parent / "tls"


def pem(name: str) -> bytes:
    return (TLS / name).read_bytes()


@pytest.fixture
def mtls_node() -> Iterator[str]:
    """A node on 127.0.0.1 that requires a client certificate signed by the test CA."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    node_pb2_grpc.add_NodeServicer_to_server(FakeNode(key_id(SigningKey.generate())), server)
    credentials = grpc.ssl_server_credentials([(pem("server.key"), pem("server.crt"))], root_certificates=pem("ca.crt"), require_client_auth=True)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"localhost:{port}"
    finally:
        server.stop(None)


def test_calls_over_mutual_tls(mtls_node: str) -> None:
    with Client.connect(mtls_node, SigningKey.generate(), ca=pem("ca.crt"), cert=pem("client.crt"), cert_key=pem("client.key")) as client:
        assert client.agents.get("counter").execute("increment") == {"value": 1}
        assert client.info() == {"abi": "1.1.0"}


def test_without_a_client_certificate_the_connection_never_gets_ready(mtls_node: str) -> None:
    with pytest.raises(Mcp0Error, match="did not answer within") as e:
        Client.connect(mtls_node, SigningKey.generate(), ca=pem("ca.crt"), timeout_s=1)
    assert e.value.code == "EUNAVAILABLE"
