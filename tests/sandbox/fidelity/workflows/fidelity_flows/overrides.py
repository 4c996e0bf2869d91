"""Resource overrides, interruptible, node names, retries and timeouts set on a node."""

from __future__ import annotations

import os
from datetime import timedelta

from flytekit import Resources, task, workflow


@task(requests=Resources(cpu="1", mem="100Mi"), interruptible=False)
def sized(x: int) -> str:
    return f"{x}:{os.environ.get('FLYTE_INTERNAL_INTERRUPTIBLE', 'unset')}"


@workflow
def overrides_wf(x: int) -> tuple[str, str]:
    plain = sized(x=x)
    big = sized(x=x).with_overrides(
        requests=Resources(cpu="2", mem="300Mi"),
        limits=Resources(cpu="3", mem="500Mi"),
        interruptible=True,
        name="big-one",
        retries=2,
        timeout=timedelta(minutes=5),
    )
    return plain, big
