"""``FlyteListEntitiesOperator``: list the registered launch plans and tasks with their latest versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_flyte._compat import BaseOperator
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID, FlyteHook
from airflow_provider_flyte.operators.waiting import flyte_errors

_KINDS = ("launch_plan", "task", "workflow")


class FlyteListEntitiesOperator(BaseOperator):  # type: ignore[misc]
    """List the launch plans and tasks (or workflows) of a project/domain at their latest versions.

    :param kinds: any of ``"launch_plan"``, ``"task"``, ``"workflow"`` (default: launch plans and tasks).
    :param name_prefix: only names starting with it (templated).
    :return: a list of ``{"kind", "project", "domain", "name", "version", "inputs": {name: {"type", "required"}},
        "outputs": {name: type}}`` (see :meth:`FlyteHook.list_entities`).
    """

    template_fields: Sequence[str] = ("project", "domain", "name_prefix", "flyte_conn_id")
    ui_color = "#a99ff5"

    def __init__(
        self,
        *,
        kinds: Sequence[str] = ("launch_plan", "task"),
        project: str | None = None,
        domain: str | None = None,
        name_prefix: str = "",
        flyte_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(kinds, str) or not kinds or any(k not in _KINDS for k in kinds):
            raise ValueError(f"kinds must be a non-empty list of {', '.join(map(repr, _KINDS))}, got {kinds!r}")
        self.kinds = tuple(kinds)
        self.project = project
        self.domain = domain
        self.name_prefix = name_prefix
        self.flyte_conn_id = flyte_conn_id

    def execute(self, context: Any) -> list[dict[str, Any]]:
        hook = FlyteHook(self.flyte_conn_id)
        try:
            with flyte_errors(f"Flyte task {self.task_id}: listing {', '.join(self.kinds)}"):
                entities = hook.list_entities(self.kinds, self.project, self.domain, self.name_prefix or "")
        finally:
            hook.close()
        self.log.info("Found %d Flyte entities", len(entities))
        return entities
