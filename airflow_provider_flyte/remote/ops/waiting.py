"""Waiting for an execution: the poll schedule and the wait operation both clients run.

Once the execution exists, its own phase decides the outcome: a status poll that fails transiently is repeated at
the next poll (up to :data:`MAX_FAILED_POLLS` in a row), and syncing the node executions afterwards is best effort
(a failure is logged and raised lazily by ``execution.node_executions``). Every error raised here carries the
execution's id (see :func:`~airflow_provider_flyte.remote.ops.executions.tag_execution_errors`).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

from airflow_provider_flyte.remote.errors import FlyteError, FlyteSystemUnavailableError, FlyteTimeoutError
from airflow_provider_flyte.remote.models import FlyteWorkflowExecution
from airflow_provider_flyte.remote.ops.call import Op, Sleep
from airflow_provider_flyte.remote.ops.executions import sync_execution, sync_node_tree, tag_execution_errors

log = logging.getLogger(__name__)

DEFAULT_POLL_CEILING = 5.0
#: the default schedule: a first poll right away, then after 50 ms, growing 2x per poll up to the ceiling (a 1 s
#: execution costs 6 polls: at 0, 0.05, 0.15, 0.35, 0.75 and 1.55 s)
FIRST_POLL = 0.05
POLL_GROWTH = 2.0
#: status polls that may fail in a row (each after the transport's own retries) before the wait gives up
MAX_FAILED_POLLS = 3


def seconds(value: float | timedelta | None) -> float | None:
    """A duration (seconds or ``timedelta``) in seconds."""
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def positive_seconds(value: float | timedelta | None, name: str) -> float | None:
    """:func:`seconds` of a duration that must be positive and finite when given (``ValueError`` naming ``name``)."""
    result = seconds(value)
    if result is not None and not (result > 0 and math.isfinite(result)):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return result


class WaitClock:
    """When to poll and when to give up: a fixed ``poll_interval``, or (default) polls starting at 50 ms and
    doubling up to 5 s. A negative ``timeout`` or a ``poll_interval`` that is not positive is a ``ValueError``."""

    def __init__(self, timeout: float | timedelta | None, poll_interval: float | timedelta | None) -> None:
        t = seconds(timeout)
        if t is not None and not (t >= 0 and not math.isnan(t)):
            raise ValueError(f"timeout must be >= 0 seconds (or None to wait forever), got {timeout!r}")
        self.fixed = positive_seconds(poll_interval, "poll_interval")
        self.deadline = None if t is None else time.monotonic() + t
        self._next = self.fixed if self.fixed is not None else FIRST_POLL

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_sleep(self) -> float:
        """Seconds to sleep before the next poll (never past the deadline)."""
        sleep = self._next
        if self.fixed is None:
            self._next = min(self._next * POLL_GROWTH, DEFAULT_POLL_CEILING)
        if self.deadline is not None:
            sleep = max(0.0, min(sleep, self.deadline - time.monotonic()))
        return sleep


def wait(
    execution: FlyteWorkflowExecution,
    timeout: float | timedelta | None = None,
    poll_interval: float | timedelta | None = None,
    sync_nodes: bool = True,
) -> Op[FlyteWorkflowExecution]:
    """Sync ``execution`` until it is done (then its nodes, with ``sync_nodes``); :class:`FlyteTimeoutError` once
    ``timeout`` has passed. Errors carry the execution id."""
    clock = WaitClock(timeout, poll_interval)
    done = yield from tag_execution_errors(_poll_until_done(execution, clock), execution.proto.id)
    if sync_nodes:
        yield from sync_nodes_best_effort(done)
    return done


def _poll_until_done(execution: FlyteWorkflowExecution, clock: WaitClock) -> Op[FlyteWorkflowExecution]:
    failed = 0
    while True:
        try:
            yield from sync_execution(execution)
            failed = 0
        except (FlyteSystemUnavailableError, FlyteTimeoutError) as exc:
            failed += 1
            if failed >= MAX_FAILED_POLLS:
                raise
            log.warning("status poll of %r failed (%s); polling again", execution, exc)
        else:
            if execution.is_done:
                return execution
        if clock.expired():
            raise FlyteTimeoutError(f"Execution {execution!r} did not complete before timeout.")
        yield Sleep(clock.next_sleep())


def sync_nodes_best_effort(execution: FlyteWorkflowExecution) -> Op[FlyteWorkflowExecution]:
    """Sync the node executions of a finished execution; a failure does not change the execution's outcome: it
    is logged, and ``execution.node_executions`` raises it (call ``remote.sync(execution, sync_nodes=True)``
    to try again)."""
    try:
        yield from sync_node_tree(execution)
    except FlyteError as exc:
        log.warning(
            "%r is %s, but reading its node executions failed (%s: %s); node_executions is unavailable",
            execution, execution.phase_name, type(exc).__name__, exc,
        )
        failure = FlyteError(
            f"the node executions of {execution!r} could not be read ({type(exc).__name__}: {exc}); "
            "call remote.sync(execution, sync_nodes=True) to try again",
            grpc_code=exc.grpc_code,
        )
        failure.execution_id = execution.proto.id
        failure.__cause__ = exc
        execution._node_sync_error = failure
    return execution
