"""One shared poller per (connection, project, domain) inside a triggerer process.

Every trigger waiting on an execution asks the poller for the next status of its execution name. Once per
interval the poller sends one ``ListExecutions`` with ``value_in(execution.name, a;b;c)`` for all names waiting
(in batches of :data:`BATCH_SIZE`), so N triggers cost ``ceil(N / BATCH_SIZE)`` RPCs per interval, not N.
Transient failures (UNAVAILABLE after the client's own retries) are retried at the next round; other errors reach
the waiting triggers. The poller stops (and closes its client) when nobody waits any more and no borrowed call
(:meth:`ExecutionPoller.borrow_remote`: node listings, signal listings) is still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from airflow_provider_flyte.triggers.status import ExecutionStatus, status_of

log = logging.getLogger(__name__)

BATCH_SIZE = 500
#: consecutive failed rounds after which transient errors are passed to the waiting triggers
MAX_TRANSIENT_FAILURES = 20

RemoteFactory = Callable[[], Awaitable[Any]]


class ExecutionNotFound(Exception):
    """The execution name is not known to Flyte Admin (in this project/domain)."""


class ExecutionPoller:
    """Batches status polls of many executions of one project/domain into few ``ListExecutions`` calls."""

    def __init__(self, key: tuple[str, str, str], remote_factory: RemoteFactory, interval: float) -> None:
        self.key = key
        self.project, self.domain = key[1], key[2]
        self._remote_factory = remote_factory
        self._remote: Any = None
        self.interval = interval
        self._waiters: dict[str, list[asyncio.Future[ExecutionStatus]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        #: RPCs issued by this poller (ListExecutions), for benchmarks and tests
        self.rpc_count = 0
        self.rounds = 0
        self.on_empty: Callable[[ExecutionPoller], None] | None = None
        self._budget_round = -1
        self._budget_used = 0
        #: calls in flight on the client outside the poller's own rounds (they keep it open)
        self._borrowers = 0
        #: loop time by which a waiter asked for a round sooner than the interval (see ``next_status(soon=)``)
        self._soonest: float | None = None
        self._wake = asyncio.Event()

    def next_status(
        self, name: str, interval: float | None = None, soon: float | None = None
    ) -> asyncio.Future[ExecutionStatus]:
        """A future resolved with ``name``'s status at the poller's next round; ``soon``: that round comes within
        ``soon`` seconds (a trigger's first check, shortly after the execution was created; the round polls every
        waiting name at once, and the interval is unchanged)."""
        if interval is not None and interval < self.interval:
            self.interval = interval
        loop = asyncio.get_running_loop()
        if soon is not None and soon < self.interval:
            due = loop.time() + soon
            if self._soonest is None or due < self._soonest:
                self._soonest = due
                self._wake.set()
        fut: asyncio.Future[ExecutionStatus] = loop.create_future()
        self._waiters.setdefault(name, []).append(fut)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"flyte-poller-{self.key}")
        return fut

    def take_node_budget(self, limit: int) -> bool:
        """Claim one extra RPC (e.g. a node listing for progress logs) of the ``limit`` allowed per round."""
        if self._budget_round != self.rounds:
            self._budget_round, self._budget_used = self.rounds, 0
        if self._budget_used >= limit:
            return False
        self._budget_used += 1
        self.rpc_count += 1
        return True

    async def get_remote(self) -> Any:
        """The poller's client (created on first use, shared by everything using this poller)."""
        if self._remote is None:
            self._remote = await self._remote_factory()
        return self._remote

    @contextlib.asynccontextmanager
    async def borrow_remote(self) -> AsyncIterator[Any]:
        """The poller's client for a call of a trigger's own (node or signal listing); the poller does not close
        it before the block ends, even if no trigger is waiting for a status meanwhile."""
        self._borrowers += 1
        try:
            yield await self.get_remote()
        finally:
            self._borrowers -= 1

    async def _run(self) -> None:
        try:
            while True:
                await self._pause()
                self._prune()
                if not self._waiters:
                    if self._borrowers:
                        continue  # a trigger is still using the client: keep it open
                    break
                await self._round()
        finally:
            remote, self._remote = self._remote, None
            if remote is not None:
                with contextlib.suppress(Exception):
                    await remote.close()
            self._prune()
            if self._waiters and not asyncio.get_running_loop().is_closed():
                # a trigger arrived while the client was closing: keep polling
                self._task = asyncio.get_running_loop().create_task(self._run(), name=f"flyte-poller-{self.key}")
            elif self.on_empty is not None:
                self.on_empty(self)

    async def _pause(self) -> None:
        """Sleep one interval, or less when a waiter asked for a round sooner."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.interval
        while (remaining := min(end, self._soonest or end) - loop.time()) > 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        self._soonest = None

    def _prune(self) -> None:
        for name in list(self._waiters):
            alive = [f for f in self._waiters[name] if not f.done()]
            if alive:
                self._waiters[name] = alive
            else:
                del self._waiters[name]

    async def _round(self) -> None:
        from airflow_provider_flyte.remote.errors import FlyteSystemUnavailableError, FlyteTimeoutError

        waiting = self._waiters
        self._waiters = {}
        names = sorted(waiting)
        self.rounds += 1
        found: dict[str, ExecutionStatus] = {}
        try:
            remote = await self.get_remote()
            for start in range(0, len(names), BATCH_SIZE):
                batch = names[start : start + BATCH_SIZE]
                self.rpc_count += 1
                for execution in await remote.list_executions(self.project, self.domain, names=batch):
                    snapshot = status_of(execution)
                    found[snapshot.name] = snapshot
        except (FlyteSystemUnavailableError, FlyteTimeoutError) as exc:
            self._failures += 1
            if self._failures < MAX_TRANSIENT_FAILURES:
                log.warning("Polling Flyte executions failed (%s); retrying at the next round", exc)
                self._requeue(waiting)
                return
            self._fail(waiting, exc)
            return
        except Exception as exc:
            self._fail(waiting, exc)
            return
        self._failures = 0
        for name, futures in waiting.items():
            status = found.get(name)
            for fut in futures:
                if fut.done():
                    continue
                if status is None:
                    fut.set_exception(
                        ExecutionNotFound(f"execution {self.project}/{self.domain}/{name} does not exist in Flyte")
                    )
                else:
                    fut.set_result(status)

    def _requeue(self, waiting: dict[str, list[asyncio.Future[ExecutionStatus]]]) -> None:
        for name, futures in waiting.items():
            self._waiters.setdefault(name, []).extend(futures)

    @staticmethod
    def _fail(waiting: dict[str, list[asyncio.Future[ExecutionStatus]]], exc: BaseException) -> None:
        for futures in waiting.values():
            for fut in futures:
                if not fut.done():
                    fut.set_exception(exc)


class PollerRegistry:
    """The pollers of each event loop, by (conn_id, project, domain)."""

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str, str], ExecutionPoller]]
        self._by_loop = weakref.WeakKeyDictionary()

    def get(self, conn_id: str, project: str, domain: str, interval: float, factory: RemoteFactory) -> ExecutionPoller:
        """The poller for this connection/project/domain on the running loop (created on first use)."""
        pollers = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        key = (conn_id, project, domain)
        poller = pollers.get(key)
        if poller is None:
            poller = ExecutionPoller(key, factory, interval)

            def forget(p: ExecutionPoller) -> None:
                if pollers.get(key) is p:
                    del pollers[key]

            poller.on_empty = forget
            pollers[key] = poller
        return poller

    def pollers(self) -> list[ExecutionPoller]:
        """The live pollers of the running loop (for tests and benchmarks)."""
        return list(self._by_loop.get(asyncio.get_running_loop(), {}).values())


#: the process-wide registry used by the triggers
REGISTRY = PollerRegistry()
