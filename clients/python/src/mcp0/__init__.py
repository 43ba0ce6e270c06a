"""MCP-ZERO's Python client: call a node's agents and methods over gRPC with signed envelopes
(abi/ROLES.md ``mcp0.rpc@1``). The gRPC stubs are in ``mcp0.generated``."""
