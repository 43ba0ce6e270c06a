"""``client.trace.prove`` against the real node of test_live.py (its fixture, its environment): the
operator proves the entry a consumer's call made, under the agreement the entry ran under, and the
proof's new root is the head the node reports for that entry; a consumer's key is refused. The
proof's pairing is checked by the TypeScript suite (sdk/test/rpc/prove.test.ts): Python has no
Groth16 verifier here."""

from __future__ import annotations

from typing import Any

import pytest

from mcp0 import Mcp0Error

from .test_live import TIMEOUT_S, Live, live  # noqa: F401  (live is the fixture)

# Proving takes seconds of every core; a shared CI machine may take a minute or more.
PROVE_TIMEOUT_S = 240


def test_the_operator_proves_an_entry_of_the_trace(live: Live) -> None:  # noqa: F811
    with live.connect(live.consumer) as consumer:
        seq = consumer.call("counter", "increment", {}, timeout_s=TIMEOUT_S).trace.seq
    assert isinstance(seq, int)
    with live.connect(live.operator) as operator:
        file: Any = operator.trace.prove(seq, seq, timeout_s=PROVE_TIMEOUT_S)
        [entry] = operator.trace.entries(seq, seq)
    assert sorted(file) == ["batchSize", "from", "proof", "publicSignals", "to"]
    assert (file["from"], file["to"], file["batchSize"]) == (seq, seq, 32)
    new_root, _total, count, _prev_root, cost_limit = file["publicSignals"]
    # The counter runs under agr-rpc, the personal template: quotas.costUnitsPerWindow 20,000.
    assert (new_root, count, cost_limit) == (entry["head"], "1", "20000")


def test_a_consumer_may_not_ask_for_a_proof(live: Live) -> None:  # noqa: F811
    with live.connect(live.consumer) as consumer:
        with pytest.raises(Mcp0Error) as e:
            consumer.trace.prove(0, 0, cost_limit=1000)
    assert e.value.code == "EPERM", e.value
