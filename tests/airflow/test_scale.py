"""1,000 execution triggers in one event loop against the sandbox: the shared poller keeps the RPCs per poll
interval bounded (target <= 10), the memory per trigger under 50 KB, and every one of the 1,000 events is right.
(The CPU per poll cycle is reported by benchmarks/bench_airflow.py, which shares this harness.)"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.bench_airflow import run_trigger_scale

N = 1000


@pytest.mark.slow
@pytest.mark.usefixtures("flyte_conn")
def test_thousand_triggers(remote: Any, examples: dict[str, Any]) -> None:
    result = run_trigger_scale(remote, examples, N, create_rate=200.0)
    events = result["payloads"]
    assert [e["status"] for e in events[:N]] == ["success"] * N
    assert [e["execution_name"] for e in events[:N]] == result["names"]
    assert [e["status"] for e in events[N:]] == ["failed"] * 5
    assert result["all_correct"]
    assert result["rounds"] >= 2 and result["rpcs"] / result["rounds"] <= 10
    assert result["per_trigger"] < 50 * 1024
