"""``FlyteExecutionSensor``: wait for an existing Flyte execution to end (poke, reschedule or deferrable)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow_provider_flyte._compat import BaseSensorOperator, default_deferrable
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID
from airflow_provider_flyte.links.flyte import FlyteExecutionLink
from airflow_provider_flyte.operators.waiting import ExecutionWaiter, flyte_errors, seconds
from airflow_provider_flyte.triggers.status import event_payload, status_of


class FlyteExecutionSensor(ExecutionWaiter, BaseSensorOperator):  # type: ignore[misc]
    """Succeed when the execution ``execution_name`` (templated, e.g. from an upstream XCom) succeeds; fail with
    the Flyte error (kind, code, message, failing node) when it fails, is aborted or times out.

    ``deferrable=True`` waits in the triggerer (batched polling, wall-clock deadline = the sensor's ``timeout``);
    otherwise the usual poke/reschedule modes apply. The sensor never terminates the execution it watches.
    """

    template_fields: Sequence[str] = ("execution_name", "project", "domain", "flyte_conn_id")
    operator_extra_links = (FlyteExecutionLink(),)
    ui_color = "#a99ff5"
    owns_execution = False

    def __init__(
        self,
        *,
        execution_name: str,
        project: str | None = None,
        domain: str | None = None,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool | None = None,
        poll_interval: float | dt.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        if poll_interval is not None:
            kwargs.setdefault("poke_interval", seconds(poll_interval, "poll_interval"))
        super().__init__(**kwargs)
        self.execution_name = execution_name
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        self.poll_interval = float(seconds(self.poke_interval, "poke_interval") or 60.0)

    def _target(self) -> tuple[str, str, str]:
        name = self.execution_name
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"execution_name must be a non-empty string, got {name!r}")
        project, domain = self.hook.resolve_scope(self.project, self.domain)
        return project, domain, name.strip()

    def execute(self, context: Any) -> Any:
        """Deferrable: check once, then defer; otherwise the normal sensor loop around :meth:`poke`."""
        self.begin_try()
        if not self.deferrable:
            return super().execute(context)
        with flyte_errors(f"Flyte sensor {self.task_id}"):
            project, domain, name = self._target()
            execution = self.hook.get_remote().fetch_execution(project, domain, name)
            result = self.wait_for_execution(context, project, domain, execution)
        return result

    def poke(self, context: Any) -> bool:
        """True once the execution succeeded; raises when it ended otherwise."""
        with flyte_errors(f"Flyte sensor {self.task_id}"):
            project, domain, name = self._target()
            remote = self.hook.get_remote()
            execution = remote.fetch_execution(project, domain, name)
            status = status_of(execution)
            self.log.info("Flyte execution %s/%s/%s is %s", project, domain, name, status.phase)
            if not status.terminal:
                return False
            url = remote.generate_console_url(execution)
            self._complete(context, event_payload(status, project=project, domain=domain, url=url))
            return True

    def _terminate(self, project: str, domain: str, name: str, cause: str) -> bool:
        """A sensor only watches: at its deadline it fails, but leaves the execution running."""
        return False
