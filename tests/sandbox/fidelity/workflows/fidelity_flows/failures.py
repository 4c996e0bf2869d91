"""A workflow with a failure node (``on_failure``)."""

from __future__ import annotations

from flytekit import task, workflow
from flytekit.types.error import FlyteError


@task
def clean_up(name: str, err: FlyteError | None = None) -> None:
    print(f"cleaning up after {name}: {err.message if err else 'no error'}")


@task
def explode(name: str) -> int:
    if name:
        raise RuntimeError(f"{name} exploded")
    return 0


@workflow(on_failure=clean_up)
def failing_wf(name: str) -> int:
    return explode(name=name)
