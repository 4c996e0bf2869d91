"""A task that writes a Flyte Deck."""

from __future__ import annotations

import flytekit
from flytekit import task, workflow


@task(enable_deck=True)
def report(x: int) -> int:
    flytekit.Deck("numbers", f"<p>x squared is {x * x}</p>")
    return x * x


@task
def plain(x: int) -> int:
    return x + 1


@workflow
def deck_wf(x: int) -> int:
    return plain(x=report(x=x))


@task(enable_deck=True)
def broken_report(x: int) -> int:
    flytekit.Deck("progress", f"<p>got as far as {x}</p>")
    if x > 0:
        raise ValueError("the report broke")
    return x


@workflow
def failing_deck_wf(x: int) -> int:
    return broken_report(x=x)
