"""Waiting for an execution: the poll schedule and the wait operation both clients run."""

from __future__ import annotations

import time
from datetime import timedelta

from airflow_provider_flyte.remote.errors import FlyteTimeoutError
from airflow_provider_flyte.remote.models import FlyteWorkflowExecution
from airflow_provider_flyte.remote.ops.call import Op, Sleep
from airflow_provider_flyte.remote.ops.executions import sync_execution, sync_node_tree

DEFAULT_POLL_CEILING = 5.0
FIRST_POLL = 0.02


def seconds(value: float | timedelta | None) -> float | None:
    """A duration (seconds or ``timedelta``) in seconds."""
    if value is None:
        return None
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class WaitClock:
    """When to poll and when to give up: a fixed ``poll_interval``, or (default) polls starting at 20 ms and
    growing 1.5x up to 5 s."""

    def __init__(self, timeout: float | timedelta | None, poll_interval: float | timedelta | None) -> None:
        t = seconds(timeout)
        self.deadline = None if t is None else time.monotonic() + t
        self.fixed = seconds(poll_interval)
        self._next = self.fixed if self.fixed is not None else FIRST_POLL

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_sleep(self) -> float:
        """Seconds to sleep before the next poll (never past the deadline)."""
        sleep = self._next
        if self.fixed is None:
            self._next = min(self._next * 1.5, DEFAULT_POLL_CEILING)
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
    ``timeout`` has passed."""
    clock = WaitClock(timeout, poll_interval)
    while True:
        yield from sync_execution(execution)
        if execution.is_done:
            if sync_nodes:
                yield from sync_node_tree(execution)
            return execution
        if clock.expired():
            raise FlyteTimeoutError(f"Execution {execution!r} did not complete before timeout.")
        yield Sleep(clock.next_sleep())
