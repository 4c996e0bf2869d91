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
