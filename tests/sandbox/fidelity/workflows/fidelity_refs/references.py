"""A reference task and a reference launch plan used in a workflow (flytekit does not allow reference
workflows as sub-workflows)."""

from __future__ import annotations

from flytekit import reference_launch_plan, reference_task, workflow

PROJECT, DOMAIN, VERSION = "flytesnacks", "development", "fidelity-1"


@reference_task(project=PROJECT, domain=DOMAIN, name="fidelity_flows.dynamic.square", version=VERSION)
def square(x: int) -> int:
    return 0  # never runs: the registered task does


@reference_launch_plan(
    project=PROJECT, domain=DOMAIN, name="fidelity_flows.launchplans.hello_lp", version=VERSION
)
def hello_lp(name: str) -> str:
    return ""


@workflow
def uses_references_wf(x: int) -> tuple[int, str]:
    return square(x=x), hello_lp(name="refs")
