"""Waiting for a Flyte execution from an Airflow task: shared by the execute and backfill operators and the sensor.

* status is checked before deferring: a terminal execution never defers, a failed one never shows as success;
* the wait is bounded by a wall-clock deadline (absolute epoch seconds, ``time.time()``), the earlier of the
  operator's ``timeout`` and Airflow's ``execution_timeout``; on expiry the execution is terminated and the task
  fails saying so (deferred or not);
* the execution name and console URL are pushed to XCom before any wait, so the "Flyte Execution" link works
  while the task is deferred;
* ``on_kill`` terminates the execution the task started or attached to.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
from collections.abc import Iterator
from typing import Any

from airflow_provider_flyte._compat import AirflowException, AirflowFailException
from airflow_provider_flyte.hooks.flyte import FlyteHook
from airflow_provider_flyte.links.flyte import PUSHED_URL_ATTR, XCOM_EXECUTION_URL
from airflow_provider_flyte.triggers.progress import Progress, failing_node
from airflow_provider_flyte.triggers.status import (
    ERROR,
    FAILED,
    SUCCESS,
    TIMEOUT,
    event_payload,
    failure_message,
    status_of,
    validate_payload,
)

XCOM_EXECUTION_NAME = "flyte_execution_name"


class FlyteExecutionTimeout(AirflowException):  # type: ignore[misc]
    """The execution did not finish before the deadline; it was terminated."""


class FlyteExecutionFailed(AirflowException):  # type: ignore[misc]
    """The execution ended FAILED, ABORTED or TIMED_OUT."""


#: TerminateExecution attempts on a deadline or a kill (the status is read again before each one)
TERMINATE_ATTEMPTS = 5
#: the blocking wait's first status check comes after this many seconds (or poll_interval if shorter); the pause
#: then doubles up to poll_interval, so a short execution does not hold a worker slot for a whole poll_interval
FIRST_CHECK_SECONDS = 1.0
#: status checks of the blocking wait that may fail in a row (after the client's own retries) before it gives up
MAX_FAILED_CHECKS = 5


class FlyteTerminateError(AirflowException):  # type: ignore[misc]
    """Terminating the execution failed: it may still be running."""


@contextlib.contextmanager
def flyte_errors(action: str) -> Iterator[None]:
    """Turn client and configuration errors into Airflow failures that say what went wrong.

    Mistakes that a retry cannot fix (bad connection, bad arguments or inputs, unknown entity, refused
    credentials: ``FlyteUserError``, ``FlyteAuthenticationError``, ``ValueError``) fail the task at once
    (``AirflowFailException``); transient server trouble stays retryable.
    """
    from airflow_provider_flyte.remote.errors import FlyteAuthenticationError, FlyteError, FlyteUserError

    try:
        yield
    except (FlyteUserError, FlyteAuthenticationError) as exc:
        raise AirflowFailException(f"{action}: {type(exc).__name__}: {exc}") from exc
    except FlyteError as exc:
        raise AirflowException(f"{action}: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # connection and argument checks (FlyteConnectionError, ExecutionNameError ...)
        raise AirflowFailException(f"{action}: {exc}") from exc


def seconds(value: dt.timedelta | float | int | None, what: str) -> float | None:
    """Seconds of a timedelta or number; None stays None; negative or zero values are rejected."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        result = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise ValueError(f"{what} must be a number of seconds or a timedelta, got {value!r}")
    if result <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return result


class ExecutionWaiter:
    """Mixin for operators that wait on a Flyte execution (needs ``flyte_conn_id``, ``poll_interval``,
    ``timeout``, ``deferrable`` and the Airflow operator API: ``defer``, ``log``, ``execution_timeout``)."""

    flyte_conn_id: str
    poll_interval: float
    timeout: float | None
    deferrable: bool
    #: operators that start executions: whether to wait for them (see :meth:`start_and_finish`)
    wait_for_completion: bool
    log: Any
    execution_timeout: dt.timedelta | None
    #: whether stopping the task (on_kill, trigger on_kill) terminates the execution: False for watchers
    owns_execution: bool = True
    #: what a retry does with an earlier try's execution (see :mod:`airflow_provider_flyte.operators.naming`)
    on_retry: str = "attach"
    #: what ``on_kill`` terminates (set as soon as the execution is known)
    _execution_ref: tuple[str, str, str] | None = None
    _hook: FlyteHook | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def hook(self) -> FlyteHook:
        """The Flyte hook of this task (one per task process)."""
        if self._hook is None:
            self._hook = FlyteHook(self.flyte_conn_id)
        return self._hook

    def _deadline(self, context: Any) -> float | None:
        """Absolute epoch deadline: the earlier of now + ``timeout`` and task start + ``execution_timeout``."""
        candidates = []
        timeout = self.timeout.total_seconds() if isinstance(self.timeout, dt.timedelta) else self.timeout
        if timeout is not None and math.isfinite(timeout):
            candidates.append(time.time() + timeout)
        if self.execution_timeout is not None:
            ti = context.get("ti") or context.get("task_instance")
            start = getattr(ti, "start_date", None)
            base = start.timestamp() if isinstance(start, dt.datetime) else time.time()
            candidates.append(base + self.execution_timeout.total_seconds())
        return min(candidates) if candidates else None

    def begin_try(self) -> None:
        """Called first by ``execute``: this try has pushed no console URL yet, so the links the worker builds
        after a try that fails early read none from XCom (which would log "XCom not found")."""
        setattr(self, PUSHED_URL_ATTR, "")

    def _push(self, context: Any, name: str, url: str | None) -> None:
        ti = context["ti"]
        ti.xcom_push(key=XCOM_EXECUTION_NAME, value=name)
        ti.xcom_push(key=XCOM_EXECUTION_URL, value=url or "")
        setattr(self, PUSHED_URL_ATTR, url or "")

    # ------------------------------------------------------------------ waiting
    def wait_for_execution(self, context: Any, project: str, domain: str, execution: Any) -> Any:
        """Push XCom, then finish now (terminal), defer, or poll here until the execution ends."""
        remote = self.hook.get_remote()
        name = execution.id.name
        url = remote.generate_console_url(execution)
        self._execution_ref = (project, domain, name)
        self._push(context, name, url)
        self.log.info("Flyte execution %s/%s/%s: %s", project, domain, name, url)
        status = status_of(execution)
        if status.terminal:
            return self._complete(context, event_payload(status, project=project, domain=domain, url=url))
        deadline = self._deadline(context)
        if self.deferrable:
            from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger

            self.defer(  # type: ignore[attr-defined]
                trigger=FlyteExecutionTrigger(
                    execution_name=name,
                    project=project,
                    domain=domain,
                    flyte_conn_id=self.flyte_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=deadline,
                    url=url,
                    terminate_on_kill=self.owns_execution,
                ),
                method_name="execute_complete",
                timeout=None,  # our own deadline ends the wait; Airflow's would skip the termination
            )
        return self._complete(context, self._poll(remote, project, domain, execution, url, deadline))

    def _poll(
        self, remote: Any, project: str, domain: str, execution: Any, url: str | None, deadline: float | None
    ) -> dict[str, Any]:
        from airflow_provider_flyte.remote.errors import FlyteSystemUnavailableError, FlyteTimeoutError

        label = f"{project}/{domain}/{execution.id.name}"
        progress = Progress(label)
        interval = min(FIRST_CHECK_SECONDS, self.poll_interval)
        failed = 0
        while True:
            status = status_of(execution)
            for line in progress.execution(status.phase):
                self.log.info("%s", line)
            try:
                nodes = remote.list_node_executions(execution.id.name, project, domain)
                for line in progress.node_list(nodes):
                    self.log.info("%s", line)
            except Exception as exc:  # progress is best effort
                self.log.debug("node progress of %s unavailable: %s", label, exc)
            if status.terminal:
                return event_payload(status, project=project, domain=domain, url=url)
            if deadline is not None and time.time() >= deadline:
                return {
                    "status": TIMEOUT,
                    "execution_name": execution.id.name,
                    "project": project,
                    "domain": domain,
                    "url": url,
                    "message": f"Flyte execution {label} did not finish within the timeout",
                }
            pause = interval if deadline is None else max(0.0, min(interval, deadline - time.time()))
            time.sleep(pause)
            interval = min(interval * 2, self.poll_interval)
            try:
                execution = remote.fetch_execution(project, domain, execution.id.name)
                failed = 0
            except (FlyteSystemUnavailableError, FlyteTimeoutError) as exc:  # check again at the next poll
                failed += 1
                if failed >= MAX_FAILED_CHECKS:
                    raise
                self.log.warning("status check of %s failed (%s); checking again", label, exc)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Resume after the trigger fired: succeed with the outputs or fail with the Flyte error."""
        return self._complete(context, validate_payload(event))

    def _complete(self, context: Any, payload: dict[str, Any]) -> Any:
        project, domain, name = payload["project"], payload["domain"], payload["execution_name"]
        self._execution_ref = (project, domain, name)
        status = payload["status"]
        if status == SUCCESS:
            self._execution_ref = None
            self.log.info("Flyte execution %s/%s/%s succeeded", project, domain, name)
            return self.on_execution_success(context, project, domain, name)
        if status == TIMEOUT:
            cause = payload.get("message") or f"Flyte execution {name} did not finish before the deadline"
            where = payload.get("url") or f"{project}/{domain}/{name}"
            try:
                terminated = self._terminate(project, domain, name, cause)
            except FlyteTerminateError as exc:
                raise FlyteExecutionTimeout(f"{cause}; {exc}") from exc
            outcome = "it was terminated" if terminated else "it had already ended"
            raise FlyteExecutionTimeout(f"{cause}; {outcome} ({where})")
        if status == FAILED:
            self._execution_ref = None
            raise FlyteExecutionFailed(failure_message(payload, self._failing_node(project, domain, name)))
        if status == ERROR:
            raise AirflowException(payload.get("message") or f"waiting for Flyte execution {name} failed")
        raise AirflowException(f"unexpected event status {status!r}")  # pragma: no cover - validated before

    def _failing_node(self, project: str, domain: str, name: str) -> str | None:
        try:
            return failing_node(self.hook.get_remote().list_node_executions(name, project, domain))
        except Exception as exc:
            self.log.debug("could not list the nodes of %s: %s", name, exc)
            return None

    def _terminate(self, project: str, domain: str, name: str, cause: str) -> bool:
        """Terminate the execution unless it already ended; True if this call terminated it.

        Transient failures are retried (:data:`TERMINATE_ATTEMPTS`, with backoff); before each attempt the status
        is read again, so an attempt whose answer was lost is never repeated on an execution that is already
        aborting or ended. Raises :class:`FlyteTerminateError` (naming the execution, which may still run) when it
        cannot be terminated.
        """
        from airflow_provider_flyte.remote.errors import (
            FlyteError,
            FlyteFailedPreconditionError,
            FlyteSystemUnavailableError,
            FlyteTimeoutError,
        )

        label = f"{project}/{domain}/{name}"
        sent = False
        for attempt in range(TERMINATE_ATTEMPTS):
            try:
                remote = self.hook.get_remote()
                status = status_of(remote.fetch_execution(project, domain, name))
                if status.terminal or status.phase == "ABORTING":
                    return sent or status.phase == "ABORTING"
                self.log.info("Terminating Flyte execution %s: %s", label, cause)
                sent = True
                remote.terminate(name, cause, project=project, domain=domain)
                return True
            except FlyteFailedPreconditionError:
                return sent  # it ended in the meantime
            except (FlyteSystemUnavailableError, FlyteTimeoutError) as exc:
                if attempt + 1 == TERMINATE_ATTEMPTS:
                    raise FlyteTerminateError(
                        f"terminating Flyte execution {label} failed {TERMINATE_ATTEMPTS} times "
                        f"({type(exc).__name__}: {exc}): it may still be running; terminate it in Flyte"
                    ) from exc
                self.log.warning("terminating Flyte execution %s failed (%s); trying again", label, exc)
                time.sleep(min(0.25 * 2**attempt, 2.0))
            except FlyteError as exc:
                raise FlyteTerminateError(
                    f"terminating Flyte execution {label} failed ({type(exc).__name__}: {exc}): it may still be "
                    "running; terminate it in Flyte"
                ) from exc
        return sent  # pragma: no cover - the loop returns or raises

    def on_execution_success(self, context: Any, project: str, domain: str, name: str) -> Any:
        """The task's result for a succeeded execution (overridden by operators that return outputs)."""
        return None

    def on_kill(self) -> None:
        """Terminate the execution this task started or attached to (task killed while running on a worker)."""
        ref = self._execution_ref
        if ref is None or not self.owns_execution:
            return
        try:
            self._terminate(*ref, cause="Airflow task was killed")
        except Exception as exc:
            self.log.warning("could not terminate Flyte execution %s: %s", "/".join(ref), exc)

    # ------------------------------------------------------------------ starting (retry-safe)
    @staticmethod
    def execution_base_name(context: Any, explicit: str | None) -> str:
        """``explicit`` (validated), else the name derived from the task instance's identity."""
        from airflow_provider_flyte.operators.naming import base_name, validate_name

        if explicit is not None:
            return validate_name(str(explicit))
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return base_name(ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))

    def start_or_attach(
        self, context: Any, project: str, domain: str, base: str, create: Any
    ) -> Any:
        """Find this task instance's executions in one ``ListExecutions`` and attach, reuse or ``create(name)``.

        See :mod:`airflow_provider_flyte.operators.naming` for the rules.
        """
        from airflow_provider_flyte.operators.naming import candidate_names, decide
        from airflow_provider_flyte.remote.phases import workflow_phase_name

        ti = context["ti"]
        try_number = int(getattr(ti, "try_number", 1) or 1)
        remote = self.hook.get_remote()
        names = candidate_names(base, try_number)
        found = {e.id.name: e for e in remote.list_executions(project, domain, names=names)}
        phases = {n: workflow_phase_name(int(e.closure.phase)) for n, e in found.items()}
        decision = decide(base, try_number, phases, self.on_retry)
        if decision.action == "attach":
            self.log.info("Attaching to Flyte execution %s (started by an earlier try, still running)", decision.name)
            return found[decision.name]
        if decision.action == "reuse":
            self.log.info("Reusing Flyte execution %s: an earlier try already ran it successfully", decision.name)
            return found[decision.name]
        deadline = self._deadline(context)
        if self.wait_for_completion and deadline is not None and time.time() >= deadline:
            raise FlyteExecutionTimeout(
                f"the deadline (timeout / execution_timeout) passed before Flyte execution {decision.name} was "
                "started; nothing was started"
            )
        if decision.action == "recover" and decision.replaces:
            self.log.info(
                "Flyte execution %s of an earlier try ended %s; recovering it as %s (nodes that succeeded are not "
                "run again)", decision.replaces, phases[decision.replaces], decision.name,
            )
            execution = remote.recover(found[decision.replaces], name=decision.name)
            self._execution_ref = (project, domain, execution.id.name)
            return execution
        if decision.terminate and decision.replaces:
            self._terminate(project, domain, decision.replaces, "replaced by a new execution (on_retry='new')")
        if decision.replaces:
            self.log.info(
                "Flyte execution %s of an earlier try ended %s; starting %s",
                decision.replaces, phases[decision.replaces], decision.name,
            )
        execution = create(decision.name)
        self._execution_ref = (project, domain, execution.id.name)
        return execution

    def start_and_finish(
        self, context: Any, project: str, domain: str, base: str, create: Any, failure: str
    ) -> Any:
        """:meth:`start_or_attach`, then either return the execution name at once (``wait_for_completion`` off; the
        name and console URL go to XCom) or wait for it. Errors of the start become task failures saying
        ``failure``."""
        with flyte_errors(failure):
            execution = self.start_or_attach(context, project, domain, base, create)
            if not self.wait_for_completion:
                url = self.hook.get_remote().generate_console_url(execution)
                self._push(context, execution.id.name, url)
                self._execution_ref = None
                return execution.id.name
        with flyte_errors(f"waiting for Flyte execution {project}/{domain}/{execution.id.name}"):
            return self.wait_for_execution(context, project, domain, execution)
