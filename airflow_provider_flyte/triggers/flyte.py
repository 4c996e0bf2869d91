"""Deferrable triggers: wait for a Flyte execution to end, or for a gate node's signal to exist.

Restart-safe by construction: they serialize only plain values and the connection id (never credentials), and
``run()`` only polls — a trigger re-created after a triggerer restart picks up where the old one was, it never
submits anything. The deadline is an absolute wall-clock epoch (``time.time()``), so it means the same thing in
every process. Polls of many executions of one project/domain are batched by the shared
:mod:`~airflow_provider_flyte.triggers.poller`. Importing this module does not import grpc or flyteidl.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from airflow_provider_flyte._compat import AIRFLOW_V_3, AIRFLOW_V_3_3_PLUS, BaseTrigger, TriggerEvent
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID, FlyteAsyncHook
from airflow_provider_flyte.triggers.poller import REGISTRY, ExecutionNotFound, ExecutionPoller
from airflow_provider_flyte.triggers.progress import Progress
from airflow_provider_flyte.triggers.status import ERROR, FAILED, SUCCESS, TIMEOUT, event_payload

#: node listings (one RPC each) a poller grants per round to triggers logging node progress
NODE_PROGRESS_BUDGET = 4
#: a trigger's first status check comes within this many seconds (or poll_interval if shorter), then every
#: poll_interval: a short execution does not wait a whole poll_interval to be seen
FIRST_CHECK_SECONDS = 1.0


def _base_payload(status: str, name: str, project: str, domain: str, url: str | None, message: str) -> dict[str, Any]:
    return {
        "status": status,
        "execution_name": name,
        "project": project,
        "domain": domain,
        "url": url,
        "message": message,
    }


class _FlyteTriggerBase(BaseTrigger):  # type: ignore[misc]
    """Shared state of the Flyte triggers: where the execution is and when to give up."""

    def __init__(
        self,
        execution_name: str,
        project: str,
        domain: str,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | None = None,
        url: str | None = None,
        terminate_on_kill: bool = True,
    ) -> None:
        super().__init__()
        self.execution_name = execution_name
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = None if deadline is None else float(deadline)
        self.url = url
        self.terminate_on_kill = bool(terminate_on_kill)
        #: set once the final event is yielded: on_kill must never act after that
        self._finished = False
        self._checked = False

    def _kwargs(self) -> dict[str, Any]:
        return {
            "execution_name": self.execution_name,
            "project": self.project,
            "domain": self.domain,
            "flyte_conn_id": self.flyte_conn_id,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "url": self.url,
            "terminate_on_kill": self.terminate_on_kill,
        }

    @property
    def label(self) -> str:
        return f"{self.project}/{self.domain}/{self.execution_name}"

    def _poller(self) -> ExecutionPoller:
        hook = FlyteAsyncHook(self.flyte_conn_id)
        return REGISTRY.get(self.flyte_conn_id, self.project, self.domain, self.poll_interval, hook.get_remote)

    def _remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.time()

    def _timeout_event(self) -> TriggerEvent:
        assert self.deadline is not None
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.deadline))
        return self._final(
            _base_payload(
                TIMEOUT, self.execution_name, self.project, self.domain, self.url,
                f"Flyte execution {self.label} did not finish before the deadline {when}",
            )
        )

    def _final(self, payload: dict[str, Any]) -> TriggerEvent:
        self._finished = True
        return TriggerEvent(payload)

    async def _next_status(self, poller: ExecutionPoller, since: Any = None) -> Any:
        """The next status (with ``since``: the next one that differs from it), or None when the deadline passed
        first. The first check comes soon after creation (``FIRST_CHECK_SECONDS``), later ones an interval apart."""
        soon = None if self._checked else min(FIRST_CHECK_SECONDS, self.poll_interval)
        self._checked = True
        fut = poller.next_status(self.execution_name, self.poll_interval, since, soon=soon)
        remaining = self._remaining()
        if remaining is None:
            return await fut
        try:
            return await asyncio.wait_for(fut, timeout=max(remaining, 0.0))
        except TimeoutError:
            return None

    async def on_kill(self) -> None:
        """Airflow 3.3+: a user marked the deferred task failed/success or cleared it -> abort the execution.

        Never acts after the final event (the task is then resuming normally) and never on a triggerer restart
        (Airflow does not call ``on_kill`` then).
        """
        if self._finished or not self.terminate_on_kill:
            return
        from airflow_provider_flyte.remote.errors import FlyteFailedPreconditionError

        remote = await FlyteAsyncHook(self.flyte_conn_id).get_remote()
        try:
            execution = await remote.fetch_execution(self.project, self.domain, self.execution_name)
            self.log.info("Terminating Flyte execution %s: the Airflow task was stopped by a user", self.label)
            with contextlib.suppress(FlyteFailedPreconditionError):  # already terminal
                await remote.terminate(execution, "Airflow task was marked failed/success or cleared by a user")
        finally:
            await remote.close()

    async def _cancelled(self) -> None:
        """Before Airflow 3.3 there is no trigger ``on_kill``: when the trigger is cancelled, terminate only if the
        task instance is no longer RUNNING/DEFERRED (a user marked it failed/success or cleared it), never on a
        triggerer restart or redistribution (the task is then still DEFERRED)."""
        if AIRFLOW_V_3_3_PLUS or self._finished or not self.terminate_on_kill:
            return
        try:
            state = await task_instance_state(self.task_instance)
        except Exception as exc:  # cannot tell: leave the execution alone
            self.log.warning("cannot read the state of the deferred task (%s); leaving %s running", exc, self.label)
            return
        if state is not None and state not in ("running", "deferred"):
            self.log.info("The deferred task is now %s", state)
            await self.on_kill()


async def task_instance_state(ti: Any) -> str | None:
    """The current state of the trigger's task instance (Airflow 2: the database; Airflow 3.0-3.2: the
    supervisor's ``get_task_states``); None when the trigger has no task instance (e.g. ``dag.test``)."""
    if ti is None:
        return None
    if not AIRFLOW_V_3:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        def read() -> Any:
            with create_session() as session:
                return (
                    session.query(TaskInstance.state)
                    .filter_by(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
                    .scalar()
                )

        state = await asyncio.to_thread(read)
    else:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
        from asgiref.sync import sync_to_async

        states = await sync_to_async(RuntimeTaskInstance.get_task_states)(
            dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id], map_index=ti.map_index
        )
        state = (states.get(ti.run_id) or {}).get(ti.task_id)
    return None if state is None else str(getattr(state, "value", state))


class FlyteExecutionTrigger(_FlyteTriggerBase):
    """Fires once when the execution ends (``success``/``failed``), the deadline passes (``timeout``), or polling
    cannot continue (``error``: the execution does not exist, credentials were refused ...).

    :param execution_name: name of the execution in ``project``/``domain``.
    :param flyte_conn_id: Airflow connection (read in the triggerer; never serialized).
    :param poll_interval: seconds between polls (shared with other triggers of the same project/domain).
    :param deadline: absolute wall-clock epoch seconds after which the trigger reports ``timeout``.
    :param url: console URL, echoed in the event.
    :param log_node_progress: log node phase changes (costs a node listing when the execution changed, within a
        per-round budget shared by all triggers of the poller).
    """

    def __init__(self, *args: Any, log_node_progress: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log_node_progress = bool(log_node_progress)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and plain keyword arguments (no credentials)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {**self._kwargs(), "log_node_progress": self.log_node_progress},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll (batched) until the execution is terminal or the deadline passes; yield exactly one event."""
        polling = self._poll()
        try:
            event = await polling.__anext__()
        except asyncio.CancelledError:
            await self._cancelled()
            raise
        finally:
            await polling.aclose()
        yield event

    async def _poll(self) -> AsyncGenerator[TriggerEvent, None]:
        from airflow_provider_flyte.remote.errors import FlyteError

        poller = self._poller()
        progress = Progress(self.label)
        last_update = -1.0
        seen = None  # the last status: the poller wakes this trigger only when the execution changed
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                yield self._timeout_event()
                return
            try:
                status = await self._next_status(poller, seen)
            except ExecutionNotFound as exc:
                yield self._final(_base_payload(ERROR, self.execution_name, self.project, self.domain, self.url, str(exc)))
                return
            except (FlyteError, ValueError) as exc:  # ValueError: the connection is invalid (FlyteConnectionError)
                yield self._final(
                    _base_payload(
                        ERROR, self.execution_name, self.project, self.domain, self.url,
                        f"polling Flyte execution {self.label} failed: {type(exc).__name__}: {exc}",
                    )
                )
                return
            if status is None:
                continue  # deadline reached while waiting; reported at the top of the loop
            seen = status
            for line in progress.execution(status.phase):
                self.log.info("%s", line)
            if self.log_node_progress and status.updated_at != last_update:
                last_update = status.updated_at
                await self._log_nodes(poller, progress)
            if status.terminal:
                yield self._final(event_payload(status, project=self.project, domain=self.domain, url=self.url))
                return

    async def _log_nodes(self, poller: ExecutionPoller, progress: Progress) -> None:
        if not poller.take_node_budget(NODE_PROGRESS_BUDGET):
            return
        try:
            async with poller.borrow_remote() as remote:
                nodes = await remote.list_node_executions(self.execution_name, self.project, self.domain)
        except Exception as exc:  # progress is best effort; the status poll decides the outcome
            self.log.debug("node progress of %s unavailable: %s", self.label, exc)
            return
        for line in progress.node_list(nodes):
            self.log.info("%s", line)


class FlyteSignalTrigger(_FlyteTriggerBase):
    """Fires when the gate node's signal ``signal_id`` exists on the execution (the gate is reached), or when the
    execution ends first (``failed``), or at the deadline (``timeout``)."""

    def __init__(self, *args: Any, signal_id: str, **kwargs: Any) -> None:
        kwargs["terminate_on_kill"] = False  # waiting for a gate owns nothing
        super().__init__(*args, **kwargs)
        self.signal_id = signal_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and plain keyword arguments (no credentials)."""
        return (f"{type(self).__module__}.{type(self).__qualname__}", {**self._kwargs(), "signal_id": self.signal_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the execution (batched) and its signals until the gate's signal exists."""
        from airflow_provider_flyte.remote.errors import FlyteError

        poller = self._poller()
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                yield self._timeout_event()
                return
            try:
                status = await self._next_status(poller)
                if status is None:
                    continue
                async with poller.borrow_remote() as remote:
                    signals = await remote.list_signals(self.execution_name, self.project, self.domain)
            except (ExecutionNotFound, FlyteError, ValueError) as exc:
                yield self._final(
                    _base_payload(
                        ERROR, self.execution_name, self.project, self.domain, self.url,
                        f"waiting for signal {self.signal_id!r} of {self.label} failed: {exc}",
                    )
                )
                return
            if any(s.id.signal_id == self.signal_id for s in signals):
                payload = _base_payload(
                    SUCCESS, self.execution_name, self.project, self.domain, self.url,
                    f"signal {self.signal_id!r} of {self.label} is waiting for a value",
                )
                yield self._final({**payload, "signal_id": self.signal_id, "phase": status.phase})
                return
            if status.terminal:
                payload = event_payload(status, project=self.project, domain=self.domain, url=self.url)
                payload["status"] = FAILED
                payload["message"] = (
                    f"Flyte execution {self.label} ended {status.phase} before its gate {self.signal_id!r} was reached"
                )
                yield self._final(payload)
                return
