"""flytekit code whose output is pickled (a type flytekit has no transformer for)."""

from __future__ import annotations

from flytekit import task, workflow


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.value == self.value


@task
def make_opaque(x: int) -> Opaque:
    return Opaque(x)


@workflow
def pickle_wf(x: int) -> Opaque:
    return make_opaque(x=x)
