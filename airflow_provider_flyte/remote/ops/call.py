"""The sans-IO protocol: an operation is a generator that yields steps and receives their results.

A step is a :class:`Call` (one RPC), a :class:`Local` (blocking local work: hashing a file, an HTTP PUT,
converting inputs) or a :class:`Sleep` (a pause between polls). The driver sends back the response / result, or throws the mapped
:class:`~airflow_provider_flyte.remote.errors.FlyteError` into the generator. The operation's result is its
return value. :func:`drive_sync` and :func:`drive_async` are the only two drivers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from airflow_provider_flyte.remote.errors import FlyteError

T = TypeVar("T")

ADMIN = "AdminService"
SIGNAL = "SignalService"
DATA_PROXY = "DataProxyService"
AUTH_METADATA = "AuthMetadataService"


@dataclass(frozen=True, slots=True)
class Call:
    """One unary RPC: ``service`` (e.g. ``"AdminService"``), ``method`` (e.g. ``"GetExecution"``), the request
    message, and whether it may be retried after a transient failure. ``timeout`` overrides the config deadline;
    ``decode`` replaces the method's response deserializer (it gets the serialized response: e.g. a projection
    that leaves the rows of a listing serialized)."""

    service: str
    method: str
    request: Any
    idempotent: bool
    timeout: float | None = None
    decode: Callable[[bytes], Any] | None = None


@dataclass(frozen=True, slots=True)
class Local:
    """Blocking local work; the asyncio driver runs it in a worker thread."""

    fn: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Sleep:
    """Pause for ``seconds`` (``time.sleep`` in the blocking driver, ``asyncio.sleep`` on the event loop)."""

    seconds: float


Step = Call | Local | Sleep
#: An operation returning ``T``.
Op = Generator[Step, Any, T]


class _Stepper:
    """The generator protocol both drivers share: resume the operation with the last answer (or error)."""

    def __init__(self, op: Op[Any]) -> None:
        self.op = op
        self.answer: Any = None
        self.error: FlyteError | None = None
        self.result: Any = None

    def next_step(self) -> Step | None:
        """The next step, or None once the operation returned (its value is then in ``result``)."""
        try:
            step = self.op.throw(self.error) if self.error is not None else self.op.send(self.answer)
        except StopIteration as stop:
            self.result = stop.value
            return None
        self.answer, self.error = None, None
        return step


def drive_sync(op: Op[T], invoke: Callable[[Call], Any]) -> T:
    """Run ``op`` to completion, answering each :class:`Call` with ``invoke`` (``Local`` and ``Sleep`` inline)."""
    run = _Stepper(op)
    while (step := run.next_step()) is not None:
        try:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                run.answer = step.fn() if isinstance(step, Local) else invoke(step)
        except FlyteError as exc:
            run.error = exc
    return run.result  # type: ignore[no-any-return]


async def drive_async(op: Op[T], invoke: Callable[[Call], Awaitable[Any]]) -> T:
    """Run ``op`` on the event loop; ``Local`` steps run in a worker thread, ``Sleep`` is ``asyncio.sleep``."""
    run = _Stepper(op)
    while (step := run.next_step()) is not None:
        try:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                run.answer = (
                    await asyncio.to_thread(step.fn) if isinstance(step, Local) else await invoke(step)
                )
        except FlyteError as exc:
            run.error = exc
    return run.result  # type: ignore[no-any-return]


def with_rpc_timeout(op: Op[T], seconds: float | None) -> Op[T]:
    """``op`` with the deadline of each of its RPCs at most ``seconds`` (flytekit's scoped gRPC deadline: a call's
    own shorter timeout stays, the config's ``rpc_timeout`` is replaced); ``None`` leaves ``op`` unchanged."""
    if seconds is None:
        return (yield from op)
    run = _Stepper(op)
    while (step := run.next_step()) is not None:
        if isinstance(step, Call):
            step = dataclasses.replace(step, timeout=seconds if step.timeout is None else min(seconds, step.timeout))
        try:
            run.answer = yield step
        except FlyteError as exc:
            run.error = exc
    return run.result  # type: ignore[no-any-return]


def returning(value: T) -> Op[T]:
    """An operation that makes no call and returns ``value`` (for cache hits)."""
    return value
    yield  # pragma: no cover - makes this a generator
