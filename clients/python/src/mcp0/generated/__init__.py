"""Generated gRPC stubs of mcp0.v1 (abi/proto/mcp0/v1/node.proto) by grpcio-tools: never edit
them; regenerate with ``python clients/python/scripts/generate.py`` (its header says why one import
is rewritten). Generated, like the files beside it.
"""

from . import node_pb2, node_pb2_grpc

__all__ = ["node_pb2", "node_pb2_grpc"]
