"""Launch plans with fixed and default inputs, and a launch plan node."""

from __future__ import annotations

from flytekit import LaunchPlan, task, workflow


@task
def greet(greeting: str, name: str) -> str:
    return f"{greeting}, {name}!"


@workflow
def greet_wf(greeting: str, name: str = "world") -> str:
    return greet(greeting=greeting, name=name)


hello_lp = LaunchPlan.get_or_create(
    greet_wf, name="fidelity_flows.launchplans.hello_lp", fixed_inputs={"greeting": "hello"}
)


@workflow
def calls_lp_wf(name: str) -> str:
    return hello_lp(name=name)
