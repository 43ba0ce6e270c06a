"""The generated stubs: current with abi/proto/mcp0/v1/node.proto, importable as mcp0.generated,
and serving every method of the service."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from mcp0.generated import node_pb2, node_pb2_grpc

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("mcp0_generate", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcp0_generate"] = module
    spec.loader.exec_module(module)
    return module


def test_the_package_under_test_is_this_clones() -> None:
    # Not whatever clone the shared venv's editable install points at (pyproject.toml's pythonpath).
    import mcp0

    assert Path(mcp0.__file__).resolve().parent == SCRIPT.parents[1] / "src" / "mcp0"


def test_the_committed_stubs_are_what_the_proto_generates() -> None:
    generator = load_generator()
    differ = generator.stale()
    assert differ == [], f"stale stubs {differ}: run python clients/python/scripts/generate.py and commit src/mcp0/generated"


def test_the_stubs_import_from_the_package_and_name_every_method() -> None:
    service = node_pb2.DESCRIPTOR.services_by_name["Node"]
    assert service.full_name == "mcp0.v1.Node"
    methods = {m.name for m in service.methods}
    assert methods == {
        "Execute",
        "ExecuteStream",
        "Spawn",
        "ListAgents",
        "Snapshot",
        "Recover",
        "Pause",
        "Resume",
        "Terminate",
        "TraceHead",
        "TraceEntries",
        "Checkpoint",
        "TraceProof",
        "Metrics",
        "Info",
    }
    assert all(hasattr(node_pb2_grpc.NodeServicer, m) for m in methods)
    # The import grpcio-tools writes (`from mcp0.v1 import node_pb2`) was made relative.
    assert node_pb2_grpc.mcp0_dot_v1_dot_node__pb2 is node_pb2
