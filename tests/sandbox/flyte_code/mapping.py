"""flytekit code for the sandbox's array-node and cache tests (run by the sandbox as flytekit subprocesses)."""

from __future__ import annotations

import functools
import os

from flytekit import map_task, task, workflow


@task
def square_plus(x: int, y: int) -> int:
    if x < 0:
        raise ValueError(f"square_plus refuses {x}")
    return x * x + y


@task
def array_index() -> int:
    """The index a mapped subtask runs at, as Flyte tells it (``BATCH_JOB_ARRAY_INDEX_VAR_NAME``)."""
    return int(os.environ[os.environ["BATCH_JOB_ARRAY_INDEX_VAR_NAME"]])


@workflow
def map_wf(xs: list[int], y: int) -> list[int]:
    return map_task(functools.partial(square_plus, y=y), concurrency=2)(x=xs)


@workflow
def tolerant_map_wf(xs: list[int]) -> list[int | None]:
    return map_task(square_plus, min_success_ratio=0.5)(x=xs, y=xs)


@task(cache=True, cache_version="1")
def cached_square(x: int) -> int:
    return x * x


@workflow
def cached_wf(x: int) -> int:
    return cached_square(x=x)
