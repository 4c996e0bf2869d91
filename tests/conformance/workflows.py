"""Real flytekit code registered on the sandbox by flytekit's own FlyteRemote (conformance tests)."""

from __future__ import annotations

from datetime import timedelta

from flytekit import LaunchPlan, approve, conditional, task, wait_for_input, workflow


@task
def double(x: int) -> int:
    return x * 2


@task
def triple(x: int) -> int:
    return x * 3


@task
def greet(name: str) -> str:
    return f"hello {name}"


@task
def explode(x: int) -> int:
    if x > 0:
        raise ValueError(f"explode was given {x}")
    return x


@workflow
def simple_wf(x: int = 3, name: str = "flyte") -> tuple[int, str]:
    return double(x=x), greet(name=name)


@workflow
def sub_wf(x: int) -> int:
    return double(x=x)


@workflow
def parent_wf(x: int) -> int:
    y = sub_wf(x=x)
    return double(x=y)


@workflow
def gated_wf(x: int) -> int:
    d = double(x=x)
    approved = approve(d, "approve-double", timeout=timedelta(hours=1))
    return double(x=approved)


@workflow
def signal_wf(x: int) -> str:
    title = wait_for_input("title", timeout=timedelta(hours=1), expected_type=str)
    g = greet(name=title)
    double(x=x)
    return g


@workflow
def branch_wf(x: int) -> int:
    return conditional("sign").if_(x > 0).then(double(x=x)).else_().then(triple(x=x))


@workflow
def failing_wf(x: int) -> int:
    return explode(x=x)


simple_lp = LaunchPlan.get_or_create(simple_wf, name="simple_lp_fixed", fixed_inputs={"name": "lp"})


@workflow
def lp_parent_wf(x: int) -> tuple[int, str]:
    return simple_lp(x=x)
