"""``FlyteSignalOperator``: approve, reject or give a value to a gate node of a running execution."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from airflow_provider_flyte._compat import (
    AirflowException,
    AirflowFailException,
    BaseOperator,
    default_deferrable,
)
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID
from airflow_provider_flyte.links.flyte import FlyteExecutionLink
from airflow_provider_flyte.operators.waiting import ExecutionWaiter, flyte_errors, seconds
from airflow_provider_flyte.triggers.status import (
    ERROR,
    SUCCESS,
    TIMEOUT,
    failure_message,
    status_of,
    validate_payload,
)

ACTIONS = ("approve", "reject", "set_input")


class FlyteSignalOperator(ExecutionWaiter, BaseOperator):  # type: ignore[misc]
    """Act on the gate ``signal_id`` of execution ``execution_name`` (templated, e.g. from an upstream XCom).

    :param action: ``approve`` / ``reject`` (approval gates) or ``set_input`` (``wait_for_input`` gates, with
        ``value``, typed from the signal's Flyte type).
    :param wait_for_gate: if the gate has not been reached yet, wait until it is (deferrably when ``deferrable``),
        bounded by ``timeout``; otherwise fail at once saying the gate is not reached.
    :return: ``{"execution_name", "signal_id", "action"}``.
    """

    template_fields: Sequence[str] = ("execution_name", "signal_id", "value", "project", "domain", "flyte_conn_id")
    operator_extra_links = (FlyteExecutionLink(),)
    ui_color = "#c7b3f5"
    owns_execution = False

    def __init__(
        self,
        *,
        execution_name: str,
        signal_id: str,
        action: str = "approve",
        value: Any = None,
        project: str | None = None,
        domain: str | None = None,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        wait_for_gate: bool = False,
        deferrable: bool | None = None,
        poll_interval: float | dt.timedelta = 10.0,
        timeout: float | dt.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if action == "set_input" and value is None:
            raise ValueError("action 'set_input' needs a value")
        if action != "set_input" and value is not None:
            raise ValueError(f"action {action!r} takes no value (value is only for set_input)")
        self.execution_name = execution_name
        self.signal_id = signal_id
        self.action = action
        self.value = value
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id
        self.wait_for_gate = wait_for_gate
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        self.poll_interval = seconds(poll_interval, "poll_interval") or 10.0
        self.timeout = seconds(timeout, "timeout")

    def _target(self) -> tuple[str, str, str, str]:
        for what in ("execution_name", "signal_id"):
            value = getattr(self, what)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{what} must be a non-empty string, got {value!r}")
        project, domain = self.hook.resolve_scope(self.project, self.domain)
        return project, domain, self.execution_name.strip(), self.signal_id.strip()

    def execute(self, context: Any) -> Any:
        """Signal now if the gate is reached; else wait for it (if asked) or fail."""
        self.begin_try()
        with flyte_errors(f"Flyte signal task {self.task_id}"):
            project, domain, name, signal_id = self._target()
            remote = self.hook.get_remote()
            execution = remote.fetch_execution(project, domain, name)
            url = remote.generate_console_url(execution)
            self._push(context, name, url)
            if self._gate_reached(project, domain, name, signal_id):
                return self._signal(project, domain, name, signal_id)
            status = status_of(execution)
            if status.terminal:
                raise AirflowFailException(
                    f"Flyte execution {project}/{domain}/{name} already ended {status.phase}; "
                    f"its gate {signal_id!r} can no longer be signalled"
                )
            if not self.wait_for_gate:
                raise AirflowFailException(
                    f"gate {signal_id!r} of Flyte execution {project}/{domain}/{name} is not reached yet "
                    "(no such signal); set wait_for_gate=True to wait for it, or check the signal id"
                )
            deadline = self._deadline(context)
            if self.deferrable:
                from airflow_provider_flyte.triggers.flyte import FlyteSignalTrigger

                self.defer(
                    trigger=FlyteSignalTrigger(
                        execution_name=name,
                        project=project,
                        domain=domain,
                        flyte_conn_id=self.flyte_conn_id,
                        poll_interval=self.poll_interval,
                        deadline=deadline,
                        url=url,
                        signal_id=signal_id,
                    ),
                    method_name="execute_complete",
                    timeout=None,
                )
            while True:
                self.log.info("Waiting for gate %r of Flyte execution %s (%s)", signal_id, name, status.phase)
                if deadline is not None and time.time() >= deadline:
                    raise AirflowException(f"gate {signal_id!r} of Flyte execution {name} was not reached in time")
                time.sleep(self.poll_interval if deadline is None else min(self.poll_interval, max(0.0, deadline - time.time())))
                if self._gate_reached(project, domain, name, signal_id):
                    return self._signal(project, domain, name, signal_id)
                status = status_of(remote.fetch_execution(project, domain, name))
                if status.terminal:
                    raise AirflowException(
                        f"Flyte execution {name} ended {status.phase} before its gate {signal_id!r} was reached"
                    )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """The gate was reached (signal now), or the execution ended / the deadline passed first (fail)."""
        payload = validate_payload(event)
        if payload["status"] == SUCCESS:
            with flyte_errors(f"Flyte signal task {self.task_id}"):
                project, domain, name, signal_id = self._target()
                return self._signal(project, domain, name, signal_id)
        if payload["status"] in (TIMEOUT, ERROR):
            raise AirflowException(payload.get("message") or "waiting for the gate failed")
        raise AirflowException(payload.get("message") or failure_message(payload))

    def _gate_reached(self, project: str, domain: str, name: str, signal_id: str) -> bool:
        signals = self.hook.get_remote().list_signals(name, project, domain)
        return any(s.id.signal_id == signal_id for s in signals)

    def _signal(self, project: str, domain: str, name: str, signal_id: str) -> dict[str, Any]:
        remote = self.hook.get_remote()
        if self.action == "approve":
            remote.approve(signal_id, name, project, domain)
        elif self.action == "reject":
            remote.reject(signal_id, name, project, domain)
        else:
            remote.set_input(signal_id, name, self.value, project, domain)
        self.log.info("Flyte execution %s/%s/%s: %s on gate %r", project, domain, name, self.action, signal_id)
        return {"execution_name": name, "signal_id": signal_id, "action": self.action}
