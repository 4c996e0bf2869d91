"""Gate nodes: wait_for_input, approve and sleep."""

from __future__ import annotations

from datetime import timedelta

from flytekit import approve, sleep, task, wait_for_input, workflow


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def gate_wf(x: int) -> int:
    y = wait_for_input("extra", timeout=timedelta(minutes=2), expected_type=int)
    total = add(a=x, b=y)
    approved = approve(total, "review", timeout=timedelta(minutes=2))
    pause = sleep(timedelta(seconds=1))
    result = add(a=approved, b=1)
    pause >> result
    return result
