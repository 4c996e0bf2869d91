"""Branches (``conditional``): flytekit numbers the nodes of every (sub)graph from ``n0``, so the same ids appear
at several depths."""

from __future__ import annotations

from flytekit import conditional, task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@task
def negate(x: int) -> int:
    return -x


@task
def add_one(x: int) -> int:
    return x + 1


@workflow
def nested_branch_wf(x: int) -> int:
    """n0 (double) -> n1 (branch whose cases are branches themselves) -> n2 (add_one)."""
    y = double(x=x)
    z = (
        conditional("outer")
        .if_(y > 10)
        .then(
            conditional("inner")
            .if_(y > 100)
            .then(negate(x=y))
            .else_()
            .then(add_one(x=y))
        )
        .else_()
        .then(double(x=y))
    )
    return add_one(x=z)


@workflow
def branching_sub_wf(x: int) -> int:
    """A sub-workflow whose nodes n0/n1 reuse the parent's ids; its branch reads its own n0."""
    y = add_one(x=x)
    return conditional("sub").if_(y < 0).then(negate(x=y)).else_().then(double(x=y))


@workflow
def branch_in_sub_wf(x: int) -> int:
    """n0 (negate) -> n1 (the sub-workflow, whose own n0 and n1 are a task and a branch) -> n2 (branch)."""
    a = negate(x=x)
    b = branching_sub_wf(x=a)
    return conditional("top").if_(b > 0).then(add_one(x=b)).else_().then(branching_sub_wf(x=b))
