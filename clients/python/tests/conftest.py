"""Shared paths for the client's tests: the repository root and its known-answer corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def envelope_vector() -> dict[str, Any]:
    """abi/corpus/rpc/envelope-v1.json: the envelope every implementation must reproduce."""
    return json.loads((REPO / "abi" / "corpus" / "rpc" / "envelope-v1.json").read_text(encoding="utf-8"))
