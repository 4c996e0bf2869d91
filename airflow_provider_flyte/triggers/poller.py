"""One shared poller per (connection, project, domain) inside a triggerer process.

Every trigger waiting on an execution asks the poller for the next status of its execution name. Once per
interval (start to start) the poller sends ``ListExecutions`` with ``value_in(execution.name, a;b;c)`` for all
names waiting, in batches sized to the number of names (:func:`batch_size`: at most :data:`STATUS_RPCS` calls
up to ``STATUS_RPCS * MAX_BATCH`` names, sent concurrently), so N triggers cost a handful of RPCs per interval,
not N. The responses are split into serialized rows, not parsed: a row byte-identical to the last round's is the
same execution, unchanged, so its trigger (holding the status remembered for the row) keeps waiting without the row
being parsed; other rows are read from the bare protobuf (phase and ``updated_at``). A trigger that asked for the
next *change* (``since``) is woken only when its execution changed, so a round over thousands of unchanged
executions costs little more than receiving the responses. Node listings for progress logs draw on a fixed per-round budget
(:meth:`ExecutionPoller.take_node_budget`), so progress logging does not grow with N either.

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

from airflow_provider_flyte.triggers.status import ExecutionStatus, status_from_closure, unchanged

log = logging.getLogger(__name__)

#: names per ListExecutions: at least MIN_BATCH (few names: one call), at most MAX_BATCH (flyteadmin accepts any
#: ``limit``; 2,000 executions are a few MB per response, far below the client's 32 MiB message limit)
MIN_BATCH, MAX_BATCH = 500, 2000
#: ListExecutions calls per round aimed for (more only beyond STATUS_RPCS * MAX_BATCH names)
STATUS_RPCS = 4
#: consecutive failed rounds after which transient errors are passed to the waiting triggers
MAX_TRANSIENT_FAILURES = 20

RemoteFactory = Callable[[], Awaitable[Any]]


def batch_size(names: int) -> int:
    """Names per ListExecutions for a round polling ``names`` executions."""
    return max(MIN_BATCH, min(MAX_BATCH, -(-names // STATUS_RPCS)))


class _Waiter:
    """A trigger waiting for a status: any (``since`` None) or one that differs from ``since``."""

    __slots__ = ("future", "since")

    def __init__(self, future: asyncio.Future[ExecutionStatus], since: ExecutionStatus | None) -> None:
        self.future = future
        self.since = since


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
        self._waiters: dict[str, list[_Waiter]] = {}
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        #: RPCs issued through this poller's client (status listings, node and signal listings), for benchmarks
        #: and tests
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
        #: the last round's rows (serialized executions) -> (name, a status the row shows unchanged)
        self._rows: dict[bytes, tuple[str, ExecutionStatus]] = {}

    def next_status(
        self,
        name: str,
        interval: float | None = None,
        since: ExecutionStatus | None = None,
        soon: float | None = None,
    ) -> asyncio.Future[ExecutionStatus]:
        """A future resolved with ``name``'s status at the poller's next round; with ``since``, at the first round
        where the status differs from ``since`` (phase or ``updated_at``); ``soon``: that round comes within
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
        self._waiters.setdefault(name, []).append(_Waiter(fut, since))
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
            remote = await self.get_remote()
            before = remote.rpc_count
            try:
                yield remote
            finally:
                self.rpc_count += remote.rpc_count - before
        finally:
            self._borrowers -= 1

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            next_round = loop.time() + self.interval
            while True:
                await self._pause(next_round)
                next_round = loop.time() + self.interval  # rounds start an interval apart, however long one takes
                # (no pruning of cancelled waiters here: a round drops them, so the poller stops one round later)
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

    async def _pause(self, until: float) -> None:
        """Sleep until loop time ``until``, or less when a waiter asked for a round sooner."""
        loop = asyncio.get_running_loop()
        while (remaining := min(until, self._soonest or until) - loop.time()) > 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
        self._soonest = None

    def _prune(self) -> None:
        for name in list(self._waiters):
            alive = [w for w in self._waiters[name] if not w.future.done()]
            if alive:
                self._waiters[name] = alive
            else:
                del self._waiters[name]

    async def _round(self) -> None:
        from airflow_provider_flyte.remote.errors import FlyteSystemUnavailableError, FlyteTimeoutError

        waiting = self._waiters
        self._waiters = {}
        names = list(waiting)
        self.rounds += 1
        try:
            remote = await self.get_remote()
            before = remote.rpc_count
            size = batch_size(len(names))
            try:
                pages = await asyncio.gather(
                    *(
                        remote.list_execution_rows(self.project, self.domain, names[i : i + size])
                        for i in range(0, len(names), size)
                    )
                )
            finally:
                self.rpc_count += remote.rpc_count - before
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
        self._read_rows(pages, waiting)
        for name, waiters in waiting.items():
            missing = ExecutionNotFound(f"execution {self.project}/{self.domain}/{name} does not exist in Flyte")
            for w in waiters:
                if not w.future.done():
                    w.future.set_exception(missing)

    def _read_rows(self, pages: list[list[bytes]], waiting: dict[str, list[_Waiter]]) -> None:
        """Deliver the statuses in this round's rows (serialized ``admin.Execution``s) to ``waiting``, popping the
        names found. A row byte-identical to one of the last round is the same execution, unchanged: a waiter whose
        ``since`` is the status remembered for it keeps waiting without the row being parsed."""
        from flyteidl.admin.execution_pb2 import Execution

        known, self._rows = self._rows, {}
        rows = self._rows
        for page in pages:
            for row in page:
                hit = known.get(row)
                if hit is not None:
                    name, status = hit
                    waiters = waiting.pop(name, None)
                    if waiters is None:
                        continue
                    if len(waiters) == 1 and waiters[0].since is status and not waiters[0].future.done():
                        rows[row] = hit
                        if (pending := self._waiters.get(name)) is None:  # _keep, inlined: thousands per round
                            self._waiters[name] = waiters
                        else:
                            pending.extend(waiters)
                        continue
                    execution = Execution.FromString(row)
                else:
                    execution = Execution.FromString(row)
                    name = execution.id.name
                    waiters = waiting.pop(name, None)
                    if waiters is None:
                        continue
                matching = self._deliver(name, execution.closure, waiters)
                if matching is not None:
                    rows[row] = (name, matching)

    def _keep(self, name: str, waiters: list[_Waiter]) -> None:
        """``waiters`` wait for the next round."""
        pending = self._waiters.get(name)
        if pending is None:
            self._waiters[name] = waiters
        else:
            pending.extend(waiters)

    def _deliver(self, name: str, closure: Any, waiters: list[_Waiter]) -> ExecutionStatus | None:
        """Resolve the waiters this status is news to; the others wait for the next round. Returns a status that
        ``closure`` shows unchanged (delivered, or a waiter's ``since``), if any: the next round's waiters
        usually hold it."""
        if len(waiters) == 1:  # the usual case, one trigger per execution: no new list per row and round
            w = waiters[0]
            if w.future.done():
                return None
            if w.since is None or not unchanged(w.since, closure):
                news = status_from_closure(name, closure)
                w.future.set_result(news)
                return news
            self._keep(name, waiters)
            return w.since
        status: ExecutionStatus | None = None
        still: list[_Waiter] = []
        for w in waiters:
            if w.future.done():
                continue
            if w.since is not None and unchanged(w.since, closure):
                still.append(w)
                continue
            if status is None:
                status = status_from_closure(name, closure)
            w.future.set_result(status)
        if still:
            self._keep(name, still)
        return status if status is not None else (still[0].since if still else None)

    def _requeue(self, waiting: dict[str, list[_Waiter]]) -> None:
        for name, waiters in waiting.items():
            self._waiters.setdefault(name, []).extend(waiters)

    @staticmethod
    def _fail(waiting: dict[str, list[_Waiter]], exc: BaseException) -> None:
        for waiters in waiting.values():
            for w in waiters:
                if not w.future.done():
                    w.future.set_exception(exc)


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
