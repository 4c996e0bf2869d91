"""An eager workflow: its tasks run as executions it launches through FlyteRemote."""

from __future__ import annotations

from flytekit import eager, task


@task
def plus_one(x: int) -> int:
    return x + 1


@task
def twice(x: int) -> int:
    return 2 * x


@eager
async def eager_wf(x: int) -> int:
    y = plus_one(x=x)
    if y > 5:
        return twice(x=y)
    return y
