#!/usr/bin/env python3
"""Generates the gRPC stubs of ``mcp0.v1`` (abi/proto/mcp0/v1/node.proto) into
clients/python/src/mcp0/generated/ with grpcio-tools (its exact version is pinned in
requirements.txt: the output names it, so another version gives other bytes).

    python clients/python/scripts/generate.py           # rewrite the committed stubs
    python clients/python/scripts/generate.py --check   # exit 1 when they are stale

Never edit the generated files; tests/test_generated.py fails when they differ from what this
script makes from the proto.

The one change to grpcio-tools' output: protoc names modules after the proto's path, so
node_pb2_grpc.py imports its messages as ``from mcp0.v1 import node_pb2``. Here that would look
for ``v1`` inside this package (named ``mcp0`` too) and fail, so the import is rewritten to the
relative ``from . import node_pb2`` (the stubs live flat in ``mcp0.generated``). The rewrite
checks that the line it replaces is there, so a grpcio-tools release that writes it differently
fails here rather than shipping a broken import.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = PACKAGE.parent.parent
PROTO_ROOT = REPO / "abi" / "proto"
PROTO = "mcp0/v1/node.proto"
OUT = PACKAGE / "src" / "mcp0" / "generated"

FILES = ("node_pb2.py", "node_pb2.pyi", "node_pb2_grpc.py")
ABSOLUTE_IMPORT = "from mcp0.v1 import node_pb2 as mcp0_dot_v1_dot_node__pb2\n"
RELATIVE_IMPORT = "from . import node_pb2 as mcp0_dot_v1_dot_node__pb2  # rewritten by scripts/generate.py\n"

INIT = '''"""Generated gRPC stubs of mcp0.v1 (abi/proto/mcp0/v1/node.proto) by grpcio-tools: never edit
them; regenerate with ``python clients/python/scripts/generate.py`` (its header says why one import
is rewritten). Generated, like the files beside it.
"""

from . import node_pb2, node_pb2_grpc

__all__ = ["node_pb2", "node_pb2_grpc"]
'''


def generate(out: Path) -> list[Path]:
    """Writes the stubs (and the package's __init__.py) into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={PROTO_ROOT}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            PROTO,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"generate.py: protoc failed ({done.returncode}):\n{done.stderr}")
        written = []
        for name in FILES:
            text = (Path(tmp) / "mcp0" / "v1" / name).read_text(encoding="utf-8")
            if name == "node_pb2_grpc.py":
                if text.count(ABSOLUTE_IMPORT) != 1:
                    raise SystemExit(f"generate.py: expected one line {ABSOLUTE_IMPORT.strip()!r} in {name}; grpcio-tools changed its output")
                text = text.replace(ABSOLUTE_IMPORT, RELATIVE_IMPORT)
            target = out / name
            target.write_text(text, encoding="utf-8")
            written.append(target)
    init = out / "__init__.py"
    init.write_text(INIT, encoding="utf-8")
    written.append(init)
    return written


def stale(out: Path = OUT) -> list[str]:
    """The generated files in ``out`` that differ from a fresh generation (empty when current)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = {p.name: p.read_bytes() for p in generate(Path(tmp))}
    present = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} if out.is_dir() else {}
    return sorted(name for name in fresh.keys() | present.keys() if fresh.get(name) != present.get(name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed stubs are stale")
    args = parser.parse_args()
    if args.check:
        differ = stale()
        if differ:
            print(f"stale generated stubs in {OUT}: {', '.join(differ)}; run python {Path(__file__).relative_to(REPO)}", file=sys.stderr)
            return 1
        return 0
    for path in generate(OUT):
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
