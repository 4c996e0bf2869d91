"""Named launch plans in files that are imported more than once, as Airflow does with DAG files.

flytekit keeps every named ``LaunchPlan`` in a process-wide cache and refuses a second ``get_or_create`` with the
same name for another workflow object, which is what re-executing the defining module produces (``dag.test()``
parses the DAG folder again; a DAG processor may re-parse a changed file).
"""

from __future__ import annotations

from typing import Any


def launch_plan(workflow: Any, name: str, **kwargs: Any) -> Any:
    """``LaunchPlan.get_or_create(workflow, name, **kwargs)``, also when the module defining ``workflow`` is
    executed again: a cached plan of that name for an earlier definition of the same workflow is replaced.

    A plan of that name for a *different* workflow still raises flytekit's error.
    """
    from flytekit import LaunchPlan

    cached = LaunchPlan.CACHE.get(name)
    if cached is not None and cached.workflow is not workflow and cached.workflow.name == workflow.name:
        del LaunchPlan.CACHE[name]
    return LaunchPlan.get_or_create(workflow, name, **kwargs)
