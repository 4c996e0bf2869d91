"""Dynamic workflows and map tasks, succeeding and failing."""

from __future__ import annotations

from flytekit import conditional, dynamic, map_task, task, workflow


@task
def square(x: int) -> int:
    return x * x


@task
def refuse_negative(x: int) -> int:
    if x < 0:
        raise ValueError(f"refusing negative value {x}")
    return x + 100


@dynamic
def squares(n: int) -> list[int]:
    return [square(x=i) for i in range(n)]


@dynamic
def squares_of(xs: list[int]) -> list[int]:
    return [refuse_negative(x=x) for x in xs]


@workflow
def dynamic_wf(n: int) -> list[int]:
    return squares(n=n)


@workflow
def failing_dynamic_wf(xs: list[int]) -> list[int]:
    return squares_of(xs=xs)


@workflow
def map_wf(xs: list[int]) -> list[int]:
    return map_task(refuse_negative)(x=xs)


@workflow
def tolerant_map_wf(xs: list[int]) -> list[int | None]:
    return map_task(refuse_negative, min_success_ratio=0.5)(x=xs)


@dynamic
def branching_dynamic(n: int) -> int:
    y = square(x=n)
    return conditional("in_dynamic").if_(y > 4).then(square(x=y)).else_().then(refuse_negative(x=y))


@workflow
def branching_dynamic_wf(n: int) -> int:
    return branching_dynamic(n=n)
