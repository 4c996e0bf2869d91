"""The sans-IO protocol: an operation is a generator that yields steps and receives their results.

A step is a :class:`Call` (one RPC) or a :class:`Local` (blocking local work: hashing a file, an HTTP PUT,
converting inputs). The driver sends back the response / result, or throws the mapped
:class:`~airflow_provider_flyte.remote.errors.FlyteError` into the generator. The operation's result is its
return value. :func:`drive_sync` and :func:`drive_async` are the only two drivers.
"""

from __future__ import annotations

import asyncio
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
    message, and whether it may be retried after a transient failure. ``timeout`` overrides the config deadline."""

    service: str
    method: str
    request: Any
    idempotent: bool
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class Local:
    """Blocking local work; the asyncio driver runs it in a worker thread."""

    fn: Callable[[], Any]


Step = Call | Local
#: An operation returning ``T``.
Op = Generator[Step, Any, T]


def drive_sync(op: Op[T], invoke: Callable[[Call], Any]) -> T:
    """Run ``op`` to completion, answering each :class:`Call` with ``invoke``."""
    send: Any = None
    error: FlyteError | None = None
    while True:
        try:
            step = op.throw(error) if error is not None else op.send(send)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        send, error = None, None
        try:
            send = step.fn() if isinstance(step, Local) else invoke(step)
        except FlyteError as exc:
            error = exc


async def drive_async(op: Op[T], invoke: Callable[[Call], Awaitable[Any]]) -> T:
    """Run ``op`` on the event loop; ``Local`` steps run in a worker thread."""
    send: Any = None
    error: FlyteError | None = None
    while True:
        try:
            step = op.throw(error) if error is not None else op.send(send)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        send, error = None, None
        try:
            send = await asyncio.to_thread(step.fn) if isinstance(step, Local) else await invoke(step)
        except FlyteError as exc:
            error = exc


def returning(value: T) -> Op[T]:
    """An operation that makes no call and returns ``value`` (for cache hits)."""
    return value
    yield  # pragma: no cover - makes this a generator
